import ArgumentParser
import Foundation
import Logging
import TollgateCore

struct PricesSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync LiteLLM's price list into storage (a running gateway picks it up within seconds).")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Option(name: .customLong("from"), help: "URL or file to sync from (default: pricing.sync_url, else LiteLLM's list).")
    var source: String?

    func run() async throws {
        let settings = try loadConfig(config)
        let summary: PriceSyncSummary
        do {
            summary = try await PriceSyncTool.run(config: settings, source: source, logger: makeLogger("error")) { line in
                FileHandle.standardError.write(Data(("… " + line + "\n").utf8))
            }
        } catch {
            throw fatal("price sync failed, the prices in force are kept: \(error)")
        }
        print("Synced: \(summary)")
        for (label, names) in [("added", summary.added), ("changed", summary.changed), ("removed", summary.removed)] where !names.isEmpty {
            print("  \(label): " + names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", … (\(names.count) in all)" : ""))
        }
        for item in summary.skipped.prefix(20) { print("  skipped \(item.name): \(item.reason)") }
        if summary.skipped.count > 20 { print("  … \(summary.skipped.count - 20) more skipped") }
    }
}
