import NIOCore

/// `/admin/keys`: list, create (the key is in the answer, once) and revoke stored keys. A change
/// is swapped into the running gateway before the answer goes out.
enum AdminKeys {
    static func list(admin: AdminContext, keys: KeyStore) async throws -> JSONValue {
        let stored = try await admin.storage.keys()
        var rows: [JSONValue] = admin.keys.configKeys.map { config in
            keyRow(KeyIssuer.json(StoredKey(name: config.name, digestHex: "", prefix: String(config.key.prefix(3)) + "…",
                                            models: config.models, expiresAt: nil, revoked: false, createdAt: 0, limits: config.limits),
                                  source: "config"), limiter: keys.limiters[config.name])
        }
        rows += stored.map { keyRow(KeyIssuer.json($0), limiter: keys.limiters[$0.name]) }
        return .object(["data": .array(rows)])
    }

    /// Adds what the key used this minute, when it has limits.
    private static func keyRow(_ row: JSONValue, limiter: KeyLimiter?) -> JSONValue {
        guard let limiter, var members = row.objectValue else { return row }
        let usage = limiter.usage()
        members.append(.init("usage", .object(["in_flight": .int(usage.inFlight), "requests_this_minute": .int(usage.requests),
                                               "tokens_this_minute": .int(usage.tokens)])))
        return .object(members)
    }

    static func parseCreate(_ body: ByteBuffer) throws -> KeyIssuer.Request {
        let json: JSONValue
        do { json = try body.withUnsafeReadableBytes { try JSONParser.parse($0) } } catch {
            throw GatewayError.badRequest("the body must be a JSON object: \(error)", code: "invalid_json")
        }
        guard let name = json["name"]?.stringValue else { throw GatewayError.badRequest("'name' is required", code: "missing_name") }
        var request = KeyIssuer.Request(name: name)
        if let models = json["models"] {
            guard let list = models.arrayValue?.compactMap(\.stringValue), list.count == models.arrayValue?.count else {
                throw GatewayError.badRequest("'models' must be an array of model names or patterns", code: "invalid_models")
            }
            request.models = list
        }
        if let expires = json["expires_at"] ?? json["expires"], !expires.isNull {
            guard let at = expires.int64Value ?? expires.stringValue.flatMap({ KeyIssuer.parseExpiry($0) }) else {
                throw GatewayError.badRequest("'expires' must be like 30d, 12h, 2026-12-31 or Unix seconds", code: "invalid_expires")
            }
            request.expiresAt = at
        }
        func limit(_ name: String) throws -> Int? {
            guard let value = json[name], !value.isNull else { return nil }
            guard let n = value.int64Value, n > 0, n <= Int64(Int32.max) else {
                throw GatewayError.badRequest("'\(name)' must be a positive integer", code: "invalid_\(name)")
            }
            return Int(n)
        }
        request.limits = KeyLimits(rpm: try limit("rpm"), tpm: try limit("tpm"), concurrency: try limit("concurrency"))
        request.key = json["key"]?.stringValue
        return request
    }

    static func create(_ request: KeyIssuer.Request, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        let (stored, key) = try await KeyIssuer.create(request, storage: admin.storage, reserved: admin.keys.configNames)
        try await admin.keys.reload(into: runtime)
        guard var members = KeyIssuer.json(stored).objectValue else { return KeyIssuer.json(stored) }
        members.insert(.init("key", .string(key)), at: 1)
        return .object(members)
    }

    static func revoke(_ name: String, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        try await KeyIssuer.revoke(name, storage: admin.storage, reserved: admin.keys.configNames)
        try await admin.keys.reload(into: runtime)
        return .object(["name": .string(name), "revoked": .bool(true)])
    }

    static func gatewayError(_ failure: KeyIssuer.Failure) -> GatewayError {
        GatewayError(status: failure.status, type: "invalid_request_error",
                     code: failure.status == 409 ? "conflict" : failure.status == 404 ? "key_not_found" : "invalid_key_request",
                     message: failure.message)
    }
}
