import ArgumentParser
import Foundation
import TollgateCore

struct KeysUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a stored key's models, limits, budget or expiry (its secret stays).",
        discussion: "Options left out keep their value; the --no-* flags remove a limit, the budget or the expiry.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Argument(help: "The key's name.") var name: String
    @Option(help: "Models it may use, comma separated; `*` wildcards; `*` alone: all.") var models: String?
    @Option(help: "Expiry: 30d, 12h, 90m, a day (2026-12-31), an RFC 3339 time or Unix seconds.") var expires: String?
    @Flag(help: "Remove the expiry.") var noExpiry = false
    @Option(help: "Requests per minute.") var rpm: Int?
    @Flag(help: "Remove the requests-per-minute limit.") var noRpm = false
    @Option(help: "Tokens per minute.") var tpm: Int?
    @Flag(help: "Remove the tokens-per-minute limit.") var noTpm = false
    @Option(help: "Requests in flight at once.") var concurrency: Int?
    @Flag(help: "Remove the concurrency limit.") var noConcurrency = false
    @Option(help: "Budget: amount, currency and period, e.g. '50 USD monthly'.") var budget: String?
    @Flag(help: "Remove the budget.") var noBudget = false

    func validate() throws {
        for (given, removed, option) in [(expires != nil, noExpiry, "expires"), (rpm != nil, noRpm, "rpm"), (tpm != nil, noTpm, "tpm"),
                                         (concurrency != nil, noConcurrency, "concurrency"), (budget != nil, noBudget, "budget")]
        where given && removed {
            throw ValidationError("--\(option) and its --no-\(option == "expires" ? "expiry" : option) contradict each other")
        }
    }

    func run() async throws {
        var change = KeyChange()
        if let models { change.models = models == "*" ? [] : modelList(models) }
        if let expires {
            guard let at = KeyIssuer.parseExpiry(expires) else { throw fatal("--expires must be like 30d, 12h, 2026-12-31 or Unix seconds") }
            change.expiresAt = .some(at)
        }
        if noExpiry { change.expiresAt = .some(nil) }
        for (value, removed, path) in [(rpm, noRpm, \KeyChange.rpm), (tpm, noTpm, \KeyChange.tpm),
                                       (concurrency, noConcurrency, \KeyChange.concurrency)] {
            if let value { change[keyPath: path] = .some(value) }
            if removed { change[keyPath: path] = .some(nil) }
        }
        if noBudget { change.budget = .some(nil) }
        let stored = try await withKeyStorage(config) { settings, storage, reserved in
            if let budget { change.budget = .some(try await parseBudget(budget, settings: settings, storage: storage)) }
            return try await KeyIssuer.update(name, change, storage: storage, reserved: reserved)
        }
        print("Updated key '\(stored.name)': \(KeyIssuer.json(stored).jsonString)")
    }
}
