/// A client key as the gateway holds it in memory: its digest, never the key itself.
///
/// Its fields live in one shared box, copied on write: a request hands its key on several times
/// (the store's verdict, the call, the record), and each copy is then one retain, not one per field.
public struct ClientKey: Sendable {
    private var box: Box

    public var name: String { get { box.fields.name } set { unique().fields.name = newValue } }
    public var digest: KeyDigest { get { box.fields.digest } set { unique().fields.digest = newValue } }
    public var models: [ModelPattern] { get { box.fields.models } set { unique().fields.models = newValue } }
    public var expiresAt: Int64? { get { box.fields.expiresAt } set { unique().fields.expiresAt = newValue } }
    public var revoked: Bool { get { box.fields.revoked } set { unique().fields.revoked = newValue } }
    public var limits: KeyLimits { get { box.fields.limits } set { unique().fields.limits = newValue } }
    /// Fallback models of this key (over the gateway's).
    public var fallbacks: [String: [String]] { get { box.fields.fallbacks } set { unique().fields.fallbacks = newValue } }
    /// Set on a secret a rotation replaced: it is refused from then on (Unix seconds).
    public var replacedAt: Int64? { get { box.fields.replacedAt } set { unique().fields.replacedAt = newValue } }
    /// Billed at batch prices (`billing: { tier: batch }`, config keys only).
    public var billingTier: BillingTier { get { box.fields.billingTier } set { unique().fields.billingTier = newValue } }
    /// Enforces `limits`; set by the store (shared by the key's snapshots).
    public internal(set) var limiter: KeyLimiter? { get { box.fields.limiter } set { unique().fields.limiter = newValue } }

    public init(name: String, digest: KeyDigest, models: [String] = [], expiresAt: Int64? = nil, limits: KeyLimits = KeyLimits()) {
        box = Box(Fields(name: name, digest: digest, models: models.map(ModelPattern.init), expiresAt: expiresAt, limits: limits))
    }

    public func allows(model: String) -> Bool { models.isEmpty || models.contains { $0.matches(model) } }

    /// The box, copied first if another key shares it.
    private mutating func unique() -> Box {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        return box
    }

    private struct Fields: Sendable {
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
    }

    /// Written only through `unique()`, so a box other keys can see never changes.
    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
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
