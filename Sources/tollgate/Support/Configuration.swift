import ArgumentParser
import Foundation
import Logging
import TollgateCore

/// Reads the configuration file, or the embedded default when there is none.
func loadConfig(_ file: String?) throws -> GatewayConfig {
    guard let file else { return EmbeddedDefault.config(environment: ProcessInfo.processInfo.environment) }
    do {
        return try ConfigLoader.load(file: file)
    } catch let error as ConfigError {
        throw fatal("\(error)")
    }
}

/// Prints a message a person can act on (no usage text) and exits with status 1.
func fatal(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    return ExitCode(1)
}

func makeLogger(_ level: String?) -> Logger {
    let name = level ?? ProcessInfo.processInfo.environment["TOLLGATE_LOG_LEVEL"] ?? "info"
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: name) ?? .info
        return handler
    }
    var logger = Logger(label: "tollgate")
    logger.logLevel = Logger.Level(rawValue: name) ?? .info
    return logger
}
