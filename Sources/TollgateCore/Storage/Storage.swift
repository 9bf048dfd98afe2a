/// A stored client key (the key itself is never stored, only its digest).
public struct StoredKey: Sendable, Equatable {
    public var name: String
    public var digestHex: String
    /// The first characters of the key, so a person can tell keys apart in a list.
    public var prefix: String
    public var models: [String]
    public var expiresAt: Int64?
    public var revoked: Bool
    public var createdAt: Int64
    public var limits = KeyLimits()
    public var budget: Budget?
    /// The secret a rotation replaced, accepted until `previousValidUntil` (Unix seconds).
    public var previousDigestHex: String?
    public var previousValidUntil: Int64?

    public init(name: String, digestHex: String, prefix: String, models: [String], expiresAt: Int64?, revoked: Bool,
                createdAt: Int64, limits: KeyLimits = KeyLimits(), budget: Budget? = nil) {
        self.name = name
        self.digestHex = digestHex
        self.prefix = prefix
        self.models = models
        self.expiresAt = expiresAt
        self.revoked = revoked
        self.createdAt = createdAt
        self.limits = limits
        self.budget = budget
    }

    public var clientKey: ClientKey? { clientKey(digestHex: digestHex) }

    /// The replaced secret during its grace period: the same key (limits, budget, models), ending
    /// when the grace does.
    public var previousClientKey: ClientKey? {
        guard let previousDigestHex, let previousValidUntil else { return nil }
        var key = clientKey(digestHex: previousDigestHex)
        key?.replacedAt = previousValidUntil
        return key
    }

    private func clientKey(digestHex: String) -> ClientKey? {
        guard let digest = KeyDigest(hex: digestHex) else { return nil }
        var key = ClientKey(name: name, digest: digest, models: models, expiresAt: expiresAt, limits: limits)
        key.revoked = revoked
        return key
    }
}

/// The gateway's durable state. The hot path never calls it: what it holds is loaded into memory
/// at start and refreshed on change.
public protocol Storage: Sendable {
    func keys() async throws -> [StoredKey]
    func insert(_ key: StoredKey) async throws
    func deleteKey(named name: String) async throws
    /// Marks a key revoked; false when no key has that name.
    func revokeKey(named name: String) async throws -> Bool
    /// Replaces a key's secret, limits, budget, models and expiry, only while its secret is still
    /// `digestHex` (so a rotation never races another change); false when it is not.
    func updateKey(_ key: StoredKey, ifDigest digestHex: String) async throws -> Bool

    /// Replacements the deprecation detector applied (model successors, API versions).
    func channelOverrides() async throws -> [ChannelOverride]
    /// Stores one, replacing the one for the same channel, model and kind.
    func saveChannelOverride(_ override: ChannelOverride) async throws

    /// Appends finished requests to the usage ledger in one transaction; a record already
    /// stored (same request id) is left as it is, so a retried batch never counts twice.
    func appendUsage(_ records: [RequestRecord]) async throws
    func usageReport(_ query: UsageQuery) async throws -> [UsageRow]
    /// The newest ledger rows matching `query`, newest first.
    func recentRequests(_ query: RecentRequestsQuery) async throws -> [LedgerRow]
    /// Adds to a key's spend in one budget period, atomically in the database so that several
    /// gateway instances share one total; returns the new total.
    func addBudgetSpend(key: String, periodStart: Int64, currency: String, nano: Int64) async throws -> Int64
    func budgetSpent(key: String, periodStart: Int64, currency: String) async throws -> Int64

    func syncedPrices() async throws -> SyncedPrices?
    func replaceSyncedPrices(_ prices: SyncedPrices) async throws
    /// When the synced prices last changed (another process may sync them), 0 if never.
    func pricesSyncedAt() async throws -> Int64
    /// Objects managed through the admin API (channels, templates, price overrides, exchange
    /// rates), each a JSON body under its kind and name.
    func objects(kind: StoredObject.Kind) async throws -> [StoredObject]
    func putObject(_ object: StoredObject) async throws
    /// False when there was none.
    func deleteObject(kind: StoredObject.Kind, name: String) async throws -> Bool
    /// Changes whenever any object changes (count and latest update), so other instances notice.
    func objectsStamp() async throws -> String
    /// Whether `watchChanges` announces changes (PostgreSQL's LISTEN/NOTIFY); else instances poll.
    var announcesChanges: Bool { get }
    /// Calls `listening` once the feed is up (changes made before it may have been missed), then
    /// `changed` with the table of each change any process makes, until cancelled or the feed
    /// breaks (it throws then). Returns at once when the storage announces nothing.
    func watchChanges(listening: @Sendable () async -> Void, changed: @Sendable (String) async -> Void) async throws
    /// Adds an instance's counts to the shared per-minute windows, records its requests in
    /// flight, and returns every instance's totals for the keys reported (this minute and the
    /// one before). Nil when the storage serves one instance (SQLite): limits stay in memory.
    func syncLimits(_ report: SharedLimitReport) async throws -> [String: SharedLimitTotals]?
    func close() async throws
}

extension Storage {
    public var announcesChanges: Bool { false }
    public func watchChanges(listening: @Sendable () async -> Void, changed: @Sendable (String) async -> Void) async throws {}
    public func syncLimits(_ report: SharedLimitReport) async throws -> [String: SharedLimitTotals]? { nil }
}

/// An admin-managed object as stored.
public struct StoredObject: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case channel, template, price, exchangeRate = "exchange_rate"
    }
    public var kind: Kind
    public var name: String
    public var body: [UInt8]
    /// Unix milliseconds.
    public var updatedAt: Int64

    public init(kind: Kind, name: String, body: [UInt8], updatedAt: Int64) {
        self.kind = kind
        self.name = name
        self.body = body
        self.updatedAt = updatedAt
    }
}

/// A replacement the deprecation detector applied to a channel, kept so a restart keeps it.
public struct ChannelOverride: Sendable, Equatable {
    public enum Kind: String, Sendable { case model, apiVersion = "api_version" }
    public var channel: String
    public var kind: Kind
    /// The upstream model replaced (empty for an API version).
    public var model: String
    public var value: String
    public var reason: String
    public var createdAt: Int64

    public init(channel: String, kind: Kind, model: String, value: String, reason: String, createdAt: Int64) {
        self.channel = channel
        self.kind = kind
        self.model = model
        self.value = value
        self.reason = reason
        self.createdAt = createdAt
    }
}
