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

    public var clientKey: ClientKey? {
        guard let digest = KeyDigest(hex: digestHex) else { return nil }
        var key = ClientKey(name: name, digest: digest, models: models, expiresAt: expiresAt)
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
    func close() async throws
}
