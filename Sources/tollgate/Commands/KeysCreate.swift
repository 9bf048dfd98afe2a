import ArgumentParser
import Foundation
import TollgateCore

struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key; it is printed this once.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Option(help: "The key's name (unique).") var name: String
    @Option(help: "Models it may use, comma separated; `*` wildcards (default: all).") var models: String?
    @Option(help: "Expiry: 30d, 12h, 90m, a day (2026-12-31), an RFC 3339 time or Unix seconds.") var expires: String?
    @Option(help: "Requests per minute.") var rpm: Int?
    @Option(help: "Tokens per minute.") var tpm: Int?
    @Option(help: "Requests in flight at once.") var concurrency: Int?
    @Option(help: "Budget: amount, currency and period, e.g. '50 USD monthly'.") var budget: String?

    func run() async throws {
        var request = KeyIssuer.Request(name: name)
        request.models = models.map(modelList) ?? []
        if let expires {
            guard let at = KeyIssuer.parseExpiry(expires) else { throw fatal("--expires must be like 30d, 12h, 2026-12-31 or Unix seconds") }
            request.expiresAt = at
        }
        request.limits = KeyLimits(rpm: rpm, tpm: tpm, concurrency: concurrency)
        let (stored, key) = try await withKeyStorage(config) { settings, storage, reserved in
            if let budget { request.budget = try await parseBudget(budget, settings: settings, storage: storage) }
            return try await KeyIssuer.create(request, storage: storage, reserved: reserved)
        }
        print(key)
        FileHandle.standardError.write(Data("Created key '\(stored.name)'. It is shown only now: store it safely.\n".utf8))
    }
}
