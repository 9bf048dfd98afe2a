/// A client key as the gateway holds it in memory: its digest, never the key itself.
public struct ClientKey: Sendable {
    public var name: String
    public var digest: KeyDigest
    public var models: [ModelPattern]
    public var expiresAt: Int64?
    public var revoked = false
    public var limits = KeyLimits()
    /// Fallback models of this key (over the gateway's).
    public var fallbacks: [String: [String]] = [:]
    /// Set on a secret a rotation replaced: it is refused from then on (Unix seconds).
    public var replacedAt: Int64?
    /// Billed at batch prices (`billing: { tier: batch }`, config keys only).
    public var billingTier = BillingTier.standard
    /// Enforces `limits`; set by the store (shared by the key's snapshots).
    public internal(set) var limiter: KeyLimiter?

    public init(name: String, digest: KeyDigest, models: [String] = [], expiresAt: Int64? = nil, limits: KeyLimits = KeyLimits()) {
        self.name = name
        self.digest = digest
        self.models = models.map(ModelPattern.init)
        self.expiresAt = expiresAt
        self.limits = limits
    }

    public func allows(model: String) -> Bool { models.isEmpty || models.contains { $0.matches(model) } }
}

/// Every usable key by digest. Immutable: a change builds a new store, so lookups need no lock and
/// read nothing from the database.
public struct KeyStore: Sendable {
    private let byDigest: [KeyDigest: ClientKey]
    /// Limit counters by key name: a new store takes over the old one's, so a reload never
    /// resets what a key used this minute.
    let limiters: [String: KeyLimiter]
    /// The limiters' clock, kept by every store that reuses this one.
    let clock: LimiterClock
    static let wallClock: LimiterClock = { .now() }

    public init(_ keys: [ClientKey], reusing previous: KeyStore? = nil, clock: LimiterClock? = nil) {
        let clock = clock ?? previous?.clock ?? KeyStore.wallClock
        var map: [KeyDigest: ClientKey] = [:]
        var limiters: [String: KeyLimiter] = [:]
        for var key in keys {
            if !key.limits.isEmpty {
                let limiter = limiters[key.name] ?? previous?.limiters[key.name] ?? KeyLimiter(keyName: key.name, limits: key.limits, clock: clock)
                if limiter.limits != key.limits { limiter.limits = key.limits }
                limiters[key.name] = limiter
                key.limiter = limiter
            }
            map[key.digest] = key
        }
        byDigest = map
        self.limiters = limiters
        self.clock = clock
    }

    /// Every key, by name (a replaced secret in its grace period is not a key of its own).
    public var keys: [ClientKey] { byDigest.values.filter { $0.replacedAt == nil }.sorted { $0.name < $1.name } }

    public enum Verdict: Sendable {
        case valid(ClientKey)
        case unknown
        case expired(ClientKey)
        case revoked(ClientKey)
        /// A secret a rotation replaced, after its grace period.
        case replaced(ClientKey)
    }

    public func check(_ presented: some Collection<UInt8>, nowUnix: Int64) -> Verdict {
        check(digest: KeyDigest(of: presented), nowUnix: nowUnix)
    }

    public func check(digest: KeyDigest, nowUnix: Int64) -> Verdict {
        guard let key = byDigest[digest] else { return .unknown }
        if key.revoked { return .revoked(key) }
        if let replaced = key.replacedAt, replaced <= nowUnix { return .replaced(key) }
        if let expiry = key.expiresAt, expiry <= nowUnix { return .expired(key) }
        return .valid(key)
    }

    public var count: Int { byDigest.count }
}
