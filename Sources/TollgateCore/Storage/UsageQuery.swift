/// A usage report: spend and tokens grouped by key, model, channel or day over a time range.
public struct UsageQuery: Sendable {
    public enum Grouping: String, Sendable, CaseIterable {
        case key, model, channel, day
    }

    public var groupBy: Grouping
    /// A second grouping inside each group (spend per day split by key, say).
    public var splitBy: Grouping?
    /// Unix milliseconds, inclusive start and exclusive end.
    public var from: Int64?
    public var to: Int64?
    public var key: String?

    public init(groupBy: Grouping, splitBy: Grouping? = nil, from: Int64? = nil, to: Int64? = nil, key: String? = nil) {
        self.groupBy = groupBy
        self.splitBy = splitBy
        self.from = from
        self.to = to
        self.key = key
    }
}

/// One group of a usage report, per currency (unpriced requests count under USD, at no cost).
/// The ledger keeps the counts an upstream reported, absurd ones too: a total beyond Int64 is
/// held at its bound rather than failing the report.
public struct UsageRow: Sendable, Equatable {
    public var group: String
    /// The second grouping's value, when the query asked for one.
    public var split: String? = nil
    public var currency: String
    public var requests: Int64
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var cacheReadTokens: Int64
    public var cacheCreationTokens: Int64
    public var costNano: Int64
    /// Requests that could not be priced (no price, no billing plugin).
    public var unpriced: Int64

    public var json: JSONValue {
        .object(["group": .string(group), "split": split.map(JSONValue.string) ?? .null, "currency": .string(currency), "requests": .int(requests),
                 "prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens),
                 "cache_read_tokens": .int(cacheReadTokens), "cache_creation_tokens": .int(cacheCreationTokens),
                 "cost": .number(Money.decimal(costNano)), "cost_nano": .int(costNano), "unpriced_requests": .int(unpriced)])
    }
}

/// The synced price list as stored: its entries and where and when they came from.
public struct SyncedPrices: Sendable {
    public var catalog: PriceCatalog
    public var source: String
    public var syncedAt: Int64

    public init(catalog: PriceCatalog, source: String, syncedAt: Int64) {
        self.catalog = catalog
        self.source = source
        self.syncedAt = syncedAt
    }
}
