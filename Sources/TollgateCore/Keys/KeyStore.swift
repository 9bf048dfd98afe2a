/// A client key as the gateway holds it in memory: its digest, never the key itself.
public struct ClientKey: Sendable {
    public var name: String
    public var digest: KeyDigest
    public var models: [ModelPattern]
    public var expiresAt: Int64?
    public var revoked = false

    public init(name: String, digest: KeyDigest, models: [String] = [], expiresAt: Int64? = nil) {
        self.name = name
        self.digest = digest
        self.models = models.map(ModelPattern.init)
        self.expiresAt = expiresAt
    }

    public func allows(model: String) -> Bool { models.isEmpty || models.contains { $0.matches(model) } }
}

/// Every usable key by digest. Immutable: a change builds a new store, so lookups need no lock and
/// read nothing from the database.
public struct KeyStore: Sendable {
    private let byDigest: [KeyDigest: ClientKey]

    public init(_ keys: [ClientKey]) {
        var map: [KeyDigest: ClientKey] = [:]
        for key in keys { map[key.digest] = key }
        byDigest = map
    }

    public enum Verdict: Sendable {
        case valid(ClientKey)
        case unknown
        case expired(ClientKey)
        case revoked(ClientKey)
    }

    public func check(_ presented: some Collection<UInt8>, nowUnix: Int64) -> Verdict {
        check(digest: KeyDigest(of: presented), nowUnix: nowUnix)
    }

    public func check(digest: KeyDigest, nowUnix: Int64) -> Verdict {
        guard let key = byDigest[digest] else { return .unknown }
        if key.revoked { return .revoked(key) }
        if let expiry = key.expiresAt, expiry <= nowUnix { return .expired(key) }
        return .valid(key)
    }

    public var count: Int { byDigest.count }
}
