import ArgumentParser
import Foundation
import Logging
import TollgateCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the embedded default when no --config is given).")

    @Option(help: "YAML configuration file.") var config: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String?

    func run() async throws {
        let logger = makeLogger(logLevel)
        let settings = try loadConfig(config)
        let gateway: Gateway
        do {
            gateway = try await Gateway.make(config: settings, logger: logger)
        } catch let error as ConfigError {
            throw fatal("\(error)")
        }
        let port = try await gateway.start()
        // Start-up parsed the price list and the configuration and freed most of it: give those
        // pages back now rather than hold them for the process's life (about 2 MB of idle RSS).
        _ = mallocTrim(0)
        // Signals are handled before the banner says the gateway is ready.
        let signals = SignalWatcher { signal in
            logger.info("stopping", metadata: ["signal": .string(signal), "grace": .string("\(settings.shutdownGrace)")])
            Task { await gateway.stop() }
        }
        let reloads = SignalWatcher(signals: [(SIGHUP, "SIGHUP")]) { _ in
            Task { _ = try? await gateway.reload() }  // it logs what it applied, or why it refused the file
        }
        printBanner(gateway, port: port)
        try await gateway.wait()
        _ = (signals, reloads)
    }

    func printBanner(_ gateway: Gateway, port: Int) {
        let host = gateway.config.listen.host
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        var lines: [String] = []
        if let admin = gateway.config.admin.listen, let adminPort = gateway.adminPort {
            lines.append("Admin and metrics on http://\(admin.host.contains(":") ? "[\(admin.host)]" : admin.host):\(adminPort)")
        }
        lines.append("Tollgate listening on \(base)")
        for report in gateway.registry.reports { lines.append("  plugin \(report.line)") }
        for report in gateway.templates.reports { lines.append("  template \(report.line)") }
        if let key = gateway.demoKey {
            lines.append("Demo key: \(key)")
            lines.append("Try:  curl \(base)/v1/chat/completions -H 'Authorization: Bearer \(key)' \\")
            lines.append("        -H 'content-type: application/json' -d '{\"model\":\"mock-echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'")
        }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// glibc's `malloc_trim` (malloc.h is not part of Swift's Glibc module).
@_silgen_name("malloc_trim") private func mallocTrim(_ pad: Int) -> Int32
