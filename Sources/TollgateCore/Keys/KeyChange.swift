import Foundation

/// What `PATCH /admin/keys/{name}` and `tollgate keys update` change. A field left nil stays as
/// it is; an inner nil removes the setting (no expiry, no limit, no budget).
public struct KeyChange: Sendable {
    public var models: [String]?
    public var expiresAt: Int64??
    public var rpm: Int??
    public var tpm: Int??
    public var concurrency: Int??
    public var budget: Budget??

    public init() {}

    public var isEmpty: Bool {
        models == nil && expiresAt == nil && rpm == nil && tpm == nil && concurrency == nil && budget == nil
    }

    func applied(to key: StoredKey) -> StoredKey {
        var key = key
        if let models { key.models = models }
        if let expiresAt { key.expiresAt = expiresAt }
        if let rpm { key.limits.rpm = rpm }
        if let tpm { key.limits.tpm = tpm }
        if let concurrency { key.limits.concurrency = concurrency }
        if let budget { key.budget = budget }
        return key
    }
}

/// Changing and rotating stored keys, shared by the admin API and `tollgate keys`. Each change
/// is written only if the key's secret did not change meanwhile: a rotation racing another
/// rotation or a change is refused (409), never half applied; of two plain changes the later stands.
extension KeyIssuer {
    /// Longest grace a rotated-out secret may keep.
    public static let maxGraceSeconds: Int64 = 90 * 86_400
    public static let defaultGraceSeconds: Int64 = 86_400

    /// Applies `change`; returns the key as stored now.
    public static func update(_ name: String, _ change: KeyChange, storage: any Storage, reserved: [String: String] = [:],
                              now: Int64? = nil) async throws -> StoredKey {
        let now = now ?? unixSeconds()
        let current = try await changeable(name, storage: storage, reserved: reserved)
        guard !change.isEmpty else { throw Failure(status: 400, message: "nothing to change: name at least one field") }
        let changed = change.applied(to: current)
        for (label, value) in [("rpm", changed.limits.rpm), ("tpm", changed.limits.tpm), ("concurrency", changed.limits.concurrency)] {
            if let value, value < 1 { throw Failure(status: 400, message: "\(label) must be a positive number") }
        }
        if let budget = changed.budget, budget.amountNano <= 0 { throw Failure(status: 400, message: "a budget must be above zero") }
        if case .some(.some(let expiry)) = change.expiresAt, expiry <= now {
            throw Failure(status: 400, message: "the expiry is in the past")
        }
        try await store(changed, replacing: current, storage: storage)
        return changed
    }

    /// Gives the key a new secret (returned in clear, this once). The old secret keeps working
    /// for `graceSeconds` (0: refused at once), then is refused; a secret an earlier rotation
    /// replaced is dropped now.
    public static func rotate(_ name: String, graceSeconds: Int64 = defaultGraceSeconds, storage: any Storage,
                              reserved: [String: String] = [:], now: Int64? = nil) async throws -> (stored: StoredKey, key: String) {
        let now = now ?? unixSeconds()
        guard (0...maxGraceSeconds).contains(graceSeconds) else {
            throw Failure(status: 400, message: "the grace period must be between 0 and 90 days")
        }
        let current = try await changeable(name, storage: storage, reserved: reserved)
        let secret = KeyGenerator.clientKey()
        var rotated = current
        rotated.digestHex = KeyDigest(of: secret).hex
        rotated.prefix = String(secret.prefix(7))
        rotated.previousDigestHex = graceSeconds > 0 ? current.digestHex : nil
        rotated.previousValidUntil = graceSeconds > 0 ? now + graceSeconds : nil
        try await store(rotated, replacing: current, storage: storage)
        return (rotated, secret)
    }

    /// The stored, unrevoked key named `name`, or a failure that says why it cannot change.
    private static func changeable(_ name: String, storage: any Storage, reserved: [String: String]) async throws -> StoredKey {
        if let place = reserved[name] { throw definedInConfig(name, place: place) }
        guard let key = try await storage.keys().first(where: { $0.name == name }) else {
            throw Failure(status: 404, message: "no stored key is named '\(name)'")
        }
        if key.revoked { throw Failure(status: 409, message: "key '\(name)' is revoked; create a new key instead") }
        return key
    }

    private static func store(_ key: StoredKey, replacing current: StoredKey, storage: any Storage) async throws {
        guard try await storage.updateKey(key, ifDigest: current.digestHex) else {
            throw Failure(status: 409, message: "key '\(key.name)' was rotated meanwhile; read it again and retry")
        }
    }

    static func definedInConfig(_ name: String, place: String) -> Failure {
        Failure(status: 409, message: "key '\(name)' is defined in the config file (\(place)); change it there", code: "defined_in_config")
    }

    /// `0`, `90s`, `30m`, `24h`, `7d` or plain seconds; nil when it is none of these.
    public static func parseGrace(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(trimmed), seconds >= 0 { return seconds }
        guard let unit = trimmed.last, let amount = Int64(trimmed.dropLast()), amount >= 0, amount <= maxGraceSeconds else { return nil }
        switch unit {
        case "s": return amount
        case "m": return amount * 60
        case "h": return amount * 3_600
        case "d": return amount * 86_400
        default: return nil
        }
    }
}
