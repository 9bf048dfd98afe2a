/// A client key as the gateway holds it in memory: its digest, never the key itself.
///
/// Its fields live in one shared box, copied on write: a request hands its key on several times
/// (the store's verdict, the call, the record), and each copy is then one retain, not one per field.
public struct ClientKey: Sendable {
    private var fields: Fields

    public var name: String { get { fields.name } set { unique().name = newValue } }
    public var digest: KeyDigest { get { fields.digest } set { unique().digest = newValue } }
    public var models: [ModelPattern] { get { fields.models } set { unique().models = newValue } }
    public var expiresAt: Int64? { get { fields.expiresAt } set { unique().expiresAt = newValue } }
    public var revoked: Bool { get { fields.revoked } set { unique().revoked = newValue } }
    public var limits: KeyLimits { get { fields.limits } set { unique().limits = newValue } }
    /// Fallback models of this key (over the gateway's).
    public var fallbacks: [String: [String]] { get { fields.fallbacks } set { unique().fallbacks = newValue } }
    /// Set on a secret a rotation replaced: it is refused from then on (Unix seconds).
    public var replacedAt: Int64? { get { fields.replacedAt } set { unique().replacedAt = newValue } }
    /// Billed at batch prices (`billing: { tier: batch }`, config keys only).
    public var billingTier: BillingTier { get { fields.billingTier } set { unique().billingTier = newValue } }
    /// Enforces `limits`; set by the store (shared by the key's snapshots).
    public internal(set) var limiter: KeyLimiter? { get { fields.limiter } set { unique().limiter = newValue } }

    public init(name: String, digest: KeyDigest, models: [String] = [], expiresAt: Int64? = nil, limits: KeyLimits = KeyLimits()) {
        fields = Fields(name: name, digest: digest, models: models.map(ModelPattern.init), expiresAt: expiresAt, limits: limits)
    }

    public func allows(model: String) -> Bool { models.isEmpty || models.contains { $0.matches(model) } }

    /// The box, copied first if another key shares it.
    private mutating func unique() -> Fields {
        if !isKnownUniquelyReferenced(&fields) { fields = fields.copy() }
        return fields
    }

    /// Written only through `unique()`, so a box other keys can see never changes.
    private final class Fields: @unchecked Sendable {
        var name: String
        var digest: KeyDigest
        var models: [ModelPattern]
        var expiresAt: Int64?
        var revoked = false
        var limits: KeyLimits
        var fallbacks: [String: [String]] = [:]
        var replacedAt: Int64?
        var billingTier = BillingTier.standard
        var limiter: KeyLimiter?

        init(name: String, digest: KeyDigest, models: [ModelPattern], expiresAt: Int64?, limits: KeyLimits) {
            self.name = name
            self.digest = digest
            self.models = models
            self.expiresAt = expiresAt
            self.limits = limits
        }

        func copy() -> Fields {
            let copy = Fields(name: name, digest: digest, models: models, expiresAt: expiresAt, limits: limits)
            copy.revoked = revoked
            copy.fallbacks = fallbacks
            copy.replacedAt = replacedAt
            copy.billingTier = billingTier
            copy.limiter = limiter
            return copy
        }
    }
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
