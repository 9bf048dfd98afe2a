import NIOCore

/// `/admin/keys`: list, create (the key is in the answer, once), change, rotate (the new key in
/// the answer, once) and revoke stored keys. A change is swapped into the running gateway before
/// the answer goes out; other instances pick it up on their next storage refresh.
enum AdminKeys {
    static func list(admin: AdminContext, keys: KeyStore, budgets: BudgetTracker) async throws -> JSONValue {
        let stored = try await admin.storage.keys()
        var rows: [JSONValue] = admin.keys.configKeys.map { config in
            let key = StoredKey(name: config.name, digestHex: "", prefix: String(config.key.prefix(3)) + "…", models: config.models,
                                expiresAt: nil, revoked: false, createdAt: 0, limits: config.limits, budget: config.budget)
            return keyRow(KeyIssuer.json(key, source: "config"), limiter: keys.limiters[config.name], spent: budgets.spent(key: config.name))
        }
        rows += stored.map { keyRow(KeyIssuer.json($0), limiter: keys.limiters[$0.name], spent: $0.budget == nil ? nil : budgets.spent(key: $0.name)) }
        return .object(["data": .array(rows)])
    }

    /// Adds what the key used this minute, when it has limits, and its budget's spend this period.
    private static func keyRow(_ row: JSONValue, limiter: KeyLimiter?, spent: Money?) -> JSONValue {
        guard var members = row.objectValue else { return row }
        if let spent { members.append(.init("budget_spent", .number(KeyIssuer.trimmed(spent.decimal)))) }
        if let limiter {
            let usage = limiter.usage()
            members.append(.init("usage", .object(["in_flight": .int(usage.inFlight), "requests_this_minute": .int(usage.requests),
                                                   "tokens_this_minute": .int(usage.tokens)])))
        }
        return .object(members)
    }

    static func parseCreate(_ body: ByteBuffer, rates: ExchangeRates) throws -> KeyIssuer.Request {
        let payload = try KeyPayload(body, allowed: ["name", "key"] + KeyPayload.changeable)
        guard let name = payload.json["name"]?.stringValue else { throw GatewayError.badRequest("'name' is required", code: "missing_name") }
        var request = KeyIssuer.Request(name: name)
        request.models = try payload.models() ?? []
        request.expiresAt = try payload.expiry(now: unixSeconds())
        request.limits = KeyLimits(rpm: try payload.limit("rpm"), tpm: try payload.limit("tpm"),
                                   concurrency: try payload.limit("concurrency", max: 1_000_000))
        request.budget = try payload.budget(rates: rates)
        if let key = payload.json["key"], !key.isNull {
            guard let text = key.stringValue else { throw GatewayError.badRequest("'key' must be a string", code: "invalid_key") }
            request.key = text
        }
        return request
    }

    static func create(_ request: KeyIssuer.Request, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        let (stored, key) = try await KeyIssuer.create(request, storage: admin.storage, reserved: admin.keys.configPlaces)
        try await admin.keys.reload(into: runtime)
        return withSecret(stored, key)
    }

    static func update(_ name: String, _ change: KeyChange, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        let stored = try await KeyIssuer.update(name, change, storage: admin.storage, reserved: admin.keys.configPlaces)
        try await admin.keys.reload(into: runtime)
        return KeyIssuer.json(stored)
    }

    static func rotate(_ name: String, graceSeconds: Int64, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        let (stored, key) = try await KeyIssuer.rotate(name, graceSeconds: graceSeconds, storage: admin.storage,
                                                       reserved: admin.keys.configPlaces)
        try await admin.keys.reload(into: runtime)
        return withSecret(stored, key)
    }

    static func revoke(_ name: String, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        try await KeyIssuer.revoke(name, storage: admin.storage, reserved: admin.keys.configPlaces)
        try await admin.keys.reload(into: runtime)
        return .object(["name": .string(name), "revoked": .bool(true)])
    }

    /// The key's row with its secret second: the only answers that ever carry one.
    private static func withSecret(_ stored: StoredKey, _ key: String) -> JSONValue {
        guard var members = KeyIssuer.json(stored).objectValue else { return KeyIssuer.json(stored) }
        members.insert(.init("key", .string(key)), at: 1)
        return .object(members)
    }

    static func gatewayError(_ failure: KeyIssuer.Failure) -> GatewayError {
        let byStatus = switch failure.status {
        case 409: "conflict"
        case 404: "key_not_found"
        default: "invalid_key_request"
        }
        return GatewayError(status: failure.status, type: "invalid_request_error", code: failure.code ?? byStatus, message: failure.message)
    }
}
