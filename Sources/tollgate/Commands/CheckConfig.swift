import ArgumentParser
import Foundation
import Logging
import TollgateCore

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file and exit.")

    @Argument(help: "YAML configuration file.") var file: String

    func run() async throws {
        let settings = try loadConfig(file)
        let registry = PluginRegistry()
        let logger = makeLogger("error")
        PluginLoader(logger: logger).loadDirectory(settings.pluginsDirectory ?? PluginLoader.defaultDirectory, into: registry)
        let templates = TemplateRegistry(reserved: registry.providerIDs, logger: logger)
        if let directory = Gateway.templatesDirectory(settings) { templates.reload(directory: directory) }
        var problems: [String] = []
        for channel in settings.channels {
            if let problem = Gateway.providerProblem(channel, registry: registry, pluginsDirectory: settings.pluginsDirectory,
                                                     templates: templates) {
                problems.append("\(channel.error(problem))")
            }
        }
        guard problems.isEmpty else {
            throw fatal(problems.joined(separator: "\nerror: "))
        }
        print("\(file): OK (\(settings.channels.count) channels, \(settings.keys.count) keys, listen \(settings.listen))")
    }
}
