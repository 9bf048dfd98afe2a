import ArgumentParser
import Foundation
import TollgateCore

struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a stored key (it stays listed).")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Argument(help: "The key's name.") var name: String

    func run() async throws {
        try await withKeyStorage(config) { _, storage, reserved in try await KeyIssuer.revoke(name, storage: storage, reserved: reserved) }
        print("Revoked key '\(name)'.")
    }
}
