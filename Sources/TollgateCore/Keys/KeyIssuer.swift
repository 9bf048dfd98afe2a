import Foundation

/// Creates and revokes stored client keys; shared by `tollgate keys` and the admin API.
public enum KeyIssuer {
    public struct Request: Sendable {
        public var name: String
        public var models: [String] = []
        public var expiresAt: Int64?
        public var limits = KeyLimits()
        public var budget: Budget?
        /// A key to store instead of a generated one (at least 8 characters).
        public var key: String?
        public init(name: String) { self.name = name }
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var status: Int
        public var message: String
        /// The admin API's error code, when the status alone does not say it.
        public var code: String?
        public var description: String { message }

        public init(status: Int, message: String, code: String? = nil) {
            self.status = status
            self.message = message
            self.code = code
        }
    }

    /// Stores a new key; returns it with the key in clear (shown this once, never stored).
    /// `reserved`: names the config file defines, with where (they cannot be taken or changed).
    public static func create(_ request: Request, storage: any Storage, reserved: [String: String] = [:],
                              now: Int64? = nil) async throws -> (stored: StoredKey, key: String) {
        let now = now ?? unixSeconds()
        let name = request.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.count <= 100, !name.contains("/") else {
            throw Failure(status: 400, message: "a key needs a name (1 to 100 characters, no '/')")
        }
        if let key = request.key, key.count < 8 { throw Failure(status: 400, message: "a key must be at least 8 characters") }
        for (label, value) in [("rpm", request.limits.rpm), ("tpm", request.limits.tpm), ("concurrency", request.limits.concurrency)] {
            if let value, value < 1 { throw Failure(status: 400, message: "\(label) must be a positive number") }
        }
        if let expiry = request.expiresAt, expiry <= now { throw Failure(status: 400, message: "the expiry is in the past") }
        if let budget = request.budget, budget.amountNano <= 0 { throw Failure(status: 400, message: "a budget must be above zero") }
        let existing = try await storage.keys()
        if reserved[name] != nil || existing.contains(where: { $0.name == name }) {
            throw Failure(status: 409, message: "a key named '\(name)' already exists")
        }
        let key = request.key ?? KeyGenerator.clientKey()
        let digest = KeyDigest(of: key).hex
        if existing.contains(where: { $0.digestHex == digest || $0.previousDigestHex == digest }) {
            throw Failure(status: 409, message: "that key is already stored")
        }
        let stored = StoredKey(name: name, digestHex: digest, prefix: String(key.prefix(7)), models: request.models,
                               expiresAt: request.expiresAt, revoked: false, createdAt: now, limits: request.limits, budget: request.budget)
        try await storage.insert(stored)
        return (stored, key)
    }

    public static func revoke(_ name: String, storage: any Storage, reserved: [String: String] = [:]) async throws {
        if let place = reserved[name] { throw definedInConfig(name, place: place) }
        guard try await storage.revokeKey(named: name) else { throw Failure(status: 404, message: "no stored key is named '\(name)'") }
    }

    /// `30d`, `12h`, `90m`, a day (`2026-12-31`, its end in UTC), an RFC 3339 time, or Unix seconds.
    public static func parseExpiry(_ text: String, now: Int64? = nil) -> Int64? {
        let now = now ?? unixSeconds()
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let unit = trimmed.last, let amount = Int64(trimmed.dropLast()), amount > 0 {
            switch unit {
            case "d": return now + amount * 86_400
            case "h": return now + amount * 3_600
            case "m": return now + amount * 60
            case "w": return now + amount * 7 * 86_400
            default: break
            }
        }
        if let seconds = Int64(trimmed), seconds > 1_000_000_000 { return seconds }
        if let day = UsageReport.parseDay(trimmed) { return day / 1000 + 86_400 }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: trimmed) { return Int64(date.timeIntervalSince1970) }
        return nil
    }

    /// `50.000000000` as `50`, `0.250000000` as `0.25`.
    static func trimmed(_ decimal: String) -> String {
        guard decimal.contains(".") else { return decimal }
        var text = Substring(decimal)
        while text.last == "0" { text = text.dropLast() }
        if text.last == "." { text = text.dropLast() }
        return String(text)
    }

    /// One key as the admin API and `keys list --json` show it. A config-file key has no
    /// creation time (`created_at` null, `source` "config").
    public static func json(_ key: StoredKey, source: String = "storage") -> JSONValue {
        func int(_ n: (some BinaryInteger)?) -> JSONValue { n.map { .int(Int64($0)) } ?? .null }
        let budget: JSONValue = key.budget.map { budget in
            .object(["amount": .number(trimmed(Money.decimal(budget.amountNano))), "currency": .string(budget.currency),
                     "period": .string(budget.period.rawValue)])
        } ?? .null
        return .object(["name": .string(key.name), "source": .string(source), "prefix": .string(key.prefix),
                        "models": .array(key.models.map(JSONValue.string)),
                        "expires_at": int(key.expiresAt), "revoked": .bool(key.revoked),
                        "created_at": source == "config" ? .null : .int(key.createdAt), "rpm": int(key.limits.rpm),
                        "tpm": int(key.limits.tpm), "concurrency": int(key.limits.concurrency), "budget": budget,
                        "previous_key_valid_until": key.previousDigestHex == nil ? .null : int(key.previousValidUntil)])
    }
}
