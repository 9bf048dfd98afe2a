import ArgumentParser
import Foundation
import TollgateCore

@main
struct Tollgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tollgate",
        abstract: "An LLM API gateway: one endpoint, every provider, exact bills.",
        subcommands: [Serve.self, CheckConfig.self, Plugins.self, Keys.self, Prices.self, Usage.self],
        defaultSubcommand: Serve.self)
}
