import Foundation
import Logging

/// Spend and token reports from the usage ledger, for `tollgate usage` and `GET /admin/usage`.
public enum UsageReport {
    public static func run(storageURL: String, query: UsageQuery, logger: Logger) async throws -> [UsageRow] {
        let storage = try await StorageOpener.open(url: storageURL, logger: logger)
        do {
            let rows = try await storage.usageReport(query)
            try await storage.close()
            return rows
        } catch {
            try? await storage.close()
            throw error
        }
    }

    /// `2026-11-01` as Unix milliseconds at 00:00 UTC.
    public static func parseDay(_ text: String) -> Int64? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
              calendar.component(.day, from: date) == parts[2] else { return nil }
        return Int64(date.timeIntervalSince1970) * 1000
    }

    public static func json(_ rows: [UsageRow]) -> String {
        JSONValue.object(["data": .array(rows.map(\.json))]).jsonString
    }

    public static func table(_ rows: [UsageRow], groupedBy grouping: UsageQuery.Grouping) -> String {
        guard !rows.isEmpty else { return "No usage recorded." }
        let header = [grouping.rawValue, "requests", "prompt", "completion", "cache_read", "cost", "currency", "unpriced"]
        let lines = rows.map { r in
            [r.group.isEmpty ? "-" : r.group, "\(r.requests)", "\(r.promptTokens)", "\(r.completionTokens)", "\(r.cacheReadTokens)",
             Money.decimal(r.costNano), r.currency.isEmpty ? "-" : r.currency, "\(r.unpriced)"]
        }
        let widths = header.indices.map { i in ([header[i]] + lines.map { $0[i] }).map(\.count).max() ?? 0 }
        func format(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - cell.count) + cell }.joined(separator: "  ")
        }
        return ([format(header)] + lines.map(format)).joined(separator: "\n")
    }
}
