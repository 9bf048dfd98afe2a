import ArgumentParser
import Foundation
import Logging
import TollgateCore

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List plugin files and adaptor templates: loaded (kind, providers, version) or refused (why).")

    @Option(help: "Plugins directory (default: the configuration's, else beside this executable).") var dir: String?
    @Option(help: "Templates directory (default: the configuration's, else ./adaptor-templates when it exists).") var templatesDir: String?
    @Option(help: "YAML configuration file whose plugins and templates directories to read.") var config: String?

    func run() async throws {
        let settings = try config.map { try loadConfig($0) }
        let directory = dir ?? settings?.pluginsDirectory ?? PluginLoader.defaultDirectory
        let registry = PluginRegistry()
        let logger = makeLogger("error")
        PluginLoader(logger: logger).loadDirectory(directory, into: registry)
        print("Plugins in \(directory):")
        if registry.reports.isEmpty { print("  (no *.so files)") }
        for report in registry.reports { print("  " + report.line) }
        guard let templatesDirectory = templatesDir ?? Gateway.templatesDirectory(settings ?? GatewayConfig()) else {
            print("Templates: none (no templates directory; the default is \(Gateway.defaultTemplatesDirectory))")
            return
        }
        let templates = TemplateRegistry(reserved: registry.providerIDs, logger: logger)
        templates.reload(directory: templatesDirectory)
        print("Templates in \(templatesDirectory):")
        if templates.reports.isEmpty { print("  (no *.json files)") }
        for report in templates.reports { print("  " + report.line) }
    }
}
