import ArgumentParser
import Foundation
import TollgateCore

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List stored keys (never the keys themselves).")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let keys = try await withKeyStorage(config) { _, storage, _ in try await storage.keys() }
        if json {
            print(JSONValue.array(keys.map { KeyIssuer.json($0) }).jsonString)
            return
        }
        let now = Int64(Date().timeIntervalSince1970)
        func time(_ unix: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(unix))) }
        print(["NAME", "PREFIX", "STATE", "MODELS", "EXPIRES", "RPM", "TPM", "CONCURRENCY", "BUDGET", "OLD KEY VALID UNTIL"]
            .joined(separator: "\t"))
        for key in keys {
            let state = key.revoked ? "revoked" : key.expiresAt.map { $0 <= now ? "expired" : "active" } ?? "active"
            let limits = [key.limits.rpm, key.limits.tpm, key.limits.concurrency].map { $0.map(String.init) ?? "-" }
            let budget = key.budget.map { "\(Money(nanoUnits: $0.amountNano, currency: $0.currency)) \($0.period.rawValue)" } ?? "-"
            let previous = key.previousValidUntil.flatMap { $0 > now ? time($0) : nil } ?? "-"
            print(([key.name, key.prefix + "…", state, key.models.isEmpty ? "*" : key.models.joined(separator: ","),
                    key.expiresAt.map(time) ?? "-"] + limits + [budget, previous]).joined(separator: "\t"))
        }
    }
}
