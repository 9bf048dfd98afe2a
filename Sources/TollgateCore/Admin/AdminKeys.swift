import Foundation
import NIOCore
import NIOHTTP1

/// `/admin/keys`: list, create and delete the keys kept in storage (config-file keys are managed
/// in the file). A minimal version for the admin page; the secret is returned once, at creation,
/// and only its digest is stored.
extension AdminAPI {
    func dispatchKeyRoute(head: HTTPRequestHead, body: ByteBuffer, path: Substring, admin: AdminContext) throws {
        let runtime = self.runtime
        let name = path.hasPrefix("/admin/keys/") ? String(path.dropFirst("/admin/keys/".count)).removingPercentEncoding : nil
        switch (head.method, name) {
        case (.GET, nil):
            answer { try await .object(["data": .array(admin.storage.keys().map(\.adminJSON))]) }
        case (.POST, nil):
            let request = try AdminKeyRequest(body: Array(buffer: body), now: unixSeconds())
            answer(status: 201) { try await Self.createStoredKey(request, admin: admin, runtime: runtime) }
        case (.DELETE, let name?) where !name.isEmpty && !name.contains("/"):
            answer { try await Self.deleteStoredKey(named: name, admin: admin, runtime: runtime) }
        case (_, nil), (_, _?):
            throw GatewayError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                               message: "\(head.method.rawValue) is not allowed on \(path)")
        }
    }

    static func createStoredKey(_ request: AdminKeyRequest, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        func taken() async throws -> Bool {
            if admin.configKeys.contains(where: { $0.name == request.name }) { return true }
            return try await admin.storage.keys().contains { $0.name == request.name }
        }
        let conflict = GatewayError(status: 409, type: "invalid_request_error", code: "key_exists",
                                    message: "a key named '\(request.name)' already exists")
        if try await taken() { throw conflict }
        let secret = KeyGenerator.clientKey()
        let prefix = String(secret.prefix(7))
        do {
            try await admin.storage.insert(StoredKey(name: request.name, digestHex: KeyDigest(of: secret).hex, prefix: prefix,
                                                     models: request.models, expiresAt: request.expiresAt, revoked: false,
                                                     createdAt: unixSeconds()))
        } catch {
            if try await taken() { throw conflict }  // lost a race with another create of the same name
            throw error
        }
        try await reloadKeySnapshot(admin: admin, runtime: runtime)
        return .object(["name": .string(request.name), "key": .string(secret), "prefix": .string(prefix)])
    }

    static func deleteStoredKey(named name: String, admin: AdminContext, runtime: GatewayRuntime) async throws -> JSONValue {
        guard try await admin.storage.keys().contains(where: { $0.name == name }) else {
            let inConfig = admin.configKeys.contains { $0.name == name }
            throw GatewayError.notFound(inConfig ? "key '\(name)' is defined in the config file; remove it there"
                                                 : "no stored key named '\(name)'", code: "key_not_found")
        }
        try await admin.storage.deleteKey(named: name)
        try await reloadKeySnapshot(admin: admin, runtime: runtime)
        return .object(["name": .string(name), "deleted": .bool(true)])
    }

    /// Swaps the running key snapshot at once, so a new key works and a deleted one is refused on
    /// the next request (other instances catch up through SharedStateWatcher).
    static func reloadKeySnapshot(admin: AdminContext, runtime: GatewayRuntime) async throws {
        let stored = try await admin.storage.keys()
        runtime.replaceKeys(KeyStore(admin.configKeys + stored.compactMap(\.clientKey)))
    }
}

/// The body of `POST /admin/keys`: `{"name": "...", "models": [...]?, "expires_at": unix?}`.
struct AdminKeyRequest: Sendable {
    var name: String
    var models: [String] = []
    var expiresAt: Int64?

    init(body: [UInt8], now: Int64) throws {
        guard let json = try? JSONParser.parse(body), json.objectValue != nil else {
            throw GatewayError.badRequest("the body must be a JSON object like {\"name\": \"team-a\"}", code: "invalid_body")
        }
        // Names appear in logs, reports and URLs: keep them plain.
        guard let name = json["name"]?.stringValue, (1...64).contains(name.count),
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw GatewayError.badRequest("name must be 1 to 64 letters, digits, '-', '_' or '.'", code: "invalid_name")
        }
        self.name = name
        if let models = json["models"], !models.isNull {
            guard let items = models.arrayValue?.compactMap(\.stringValue), items.count == models.arrayValue?.count,
                  items.allSatisfy({ !$0.isEmpty }) else {
                throw GatewayError.badRequest("models must be a list of model names or patterns like \"gpt-*\"", code: "invalid_models")
            }
            self.models = items
        }
        if let expiry = json["expires_at"], !expiry.isNull {
            guard let seconds = expiry.int64Value, seconds > now else {
                throw GatewayError.badRequest("expires_at must be a future time in unix seconds", code: "invalid_expires_at")
            }
            expiresAt = seconds
        }
    }
}

extension StoredKey {
    /// What the admin API shows of a stored key: never its digest.
    var adminJSON: JSONValue {
        .object(["name": .string(name), "prefix": .string(prefix), "models": .array(models.map(JSONValue.string)),
                 "expires_at": expiresAt.map(JSONValue.int) ?? .null, "revoked": .bool(revoked), "created_at": .int(createdAt)])
    }
}

extension GatewayConfig {
    /// The config file's keys as the key store holds them (as `Gateway.loadKeys` builds them).
    var clientKeys: [ClientKey] { keys.map { ClientKey(name: $0.name, digest: KeyDigest(of: $0.key), models: $0.models) } }
}
