import ArgumentParser
import Foundation
import Logging
import TollgateCore

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Report spend and tokens from the usage ledger.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Option(help: "Group by key, model, channel or day.") var by: String = "key"
    @Option(help: "Only requests since this day (YYYY-MM-DD, UTC).") var since: String?
    @Option(help: "Only this key's requests.") var key: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        guard let grouping = UsageQuery.Grouping(rawValue: by) else {
            throw fatal("--by must be one of: " + UsageQuery.Grouping.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var query = UsageQuery(groupBy: grouping, key: key)
        if let since {
            guard let day = UsageReport.parseDay(since) else { throw fatal("--since must be a day like 2026-11-01") }
            query.from = day
        }
        let settings = try loadConfig(config)
        let rows = try await UsageReport.run(storageURL: settings.storageURL, query: query, logger: makeLogger("error"))
        print(json ? UsageReport.json(rows) : UsageReport.table(rows, groupedBy: grouping))
    }
}
