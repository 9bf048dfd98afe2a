import Foundation
import Testing
@testable import TollgateCore

/// Keys through the admin API (in force at once) and through storage as `tollgate keys create`
/// writes it (picked up by the running gateway within seconds); expiry, revocation, models.
@Suite struct KeyAdminTests {
    static let adminKey = "admin-secret-key-42-0123456789"

    static func harness() async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        admin_key: \(adminKey)
        channels:
          - { name: mock, provider: mock, models: [mock-echo, other] }
        """) { $0.limiterClock = KeyLimitTests.frozenClock() }
    }

    func admin(_ harness: GatewayHarness, _ method: String, _ path: String, _ body: String = "") async throws -> TestResponse {
        try await harness.client.fetch(port: harness.port, method: method, path: path,
                                       headers: [("authorization", "Bearer \(Self.adminKey)"), ("content-type", "application/json")],
                                       body: Array(body.utf8))
    }

    func chat(_ harness: GatewayHarness, key: String, model: String = "mock-echo") async throws -> TestResponse {
        try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: key,
                                       json: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
    }

    @Test func createdKeysWorkAtOnceAndRevokedOnesStopAtOnce() async throws {
        let harness = try await Self.harness()
        defer { Task { await harness.stop() } }
        let created = try await admin(harness, "POST", "/admin/keys", #"{"name":"team-a","models":["mock-*"],"rpm":100,"expires":"30d"}"#)
        #expect(created.status == 201)
        guard let key = created.json?["key"]?.stringValue else { Issue.record("no key in \(created.text)"); return }
        #expect(key.hasPrefix("tg-") && created.json?["rpm"]?.int64Value == 100)
        #expect(try await chat(harness, key: key).status == 200)
        #expect(try await chat(harness, key: key, model: "other").status == 403)

        let listed = try await admin(harness, "GET", "/admin/keys")
        let row = listed.json?["data"]?.arrayValue?.first { $0["name"]?.stringValue == "team-a" }
        #expect(row?["prefix"]?.stringValue == String(key.prefix(7)))
        #expect(row?["usage"]?["requests_this_minute"]?.int64Value == 1)  // the refused model never counted
        #expect(!listed.text.contains(key))  // never the key itself
        #expect(listed.json?["data"]?.arrayValue?.contains { $0["name"]?.stringValue == "tester" && $0["source"]?.stringValue == "config" } == true)

        #expect(try await admin(harness, "DELETE", "/admin/keys/team-a").status == 200)
        let refused = try await chat(harness, key: key)
        #expect(refused.status == 401 && refused.json?["error"]?["message"]?.stringValue?.contains("revoked") == true)
    }

    @Test func adminMistakesAreClear() async throws {
        let harness = try await Self.harness()
        defer { Task { await harness.stop() } }
        #expect(try await admin(harness, "POST", "/admin/keys", #"{"name":"x","rpm":100}"#).status == 201)
        #expect(try await admin(harness, "POST", "/admin/keys", #"{"name":"x"}"#).status == 409)
        #expect(try await admin(harness, "POST", "/admin/keys", #"{"name":"tester"}"#).status == 409)
        #expect(try await admin(harness, "POST", "/admin/keys", #"{"rpm":1}"#).status == 400)
        #expect(try await admin(harness, "POST", "/admin/keys", #"{"name":"y","rpm":-1}"#).status == 400)
        #expect(try await admin(harness, "POST", "/admin/keys", #"{"name":"y","expires":"yesterday"}"#).status == 400)
        #expect(try await admin(harness, "DELETE", "/admin/keys/nobody").status == 404)
        #expect(try await admin(harness, "DELETE", "/admin/keys/tester").status == 409)
        let unauthorized = try await harness.client.fetch(port: harness.port, method: "GET", path: "/admin/keys")
        #expect(unauthorized.status == 401)
    }

    @Test func keysStoredByAnotherProcessArriveWithinSeconds() async throws {
        let harness = try await Self.harness()
        defer { Task { await harness.stop() } }
        // What `tollgate keys create` does, on the same database.
        let storage = try await SQLiteStorage.open(url: harness.gateway.config.storageURL, logger: .init(label: "cli"))
        let key = try await closing(storage) {
            var request = KeyIssuer.Request(name: "from-cli")
            request.limits = KeyLimits(rpm: 5)
            let key = try await KeyIssuer.create(request, storage: storage).key
            let arrived = await GatewayHarness.eventually { (try? await chat(harness, key: key))?.status == 200 }
            #expect(arrived)
            try await KeyIssuer.revoke("from-cli", storage: storage)
            return key
        }
        let gone = await GatewayHarness.eventually { (try? await chat(harness, key: key))?.status == 401 }
        #expect(gone)
    }

    @Test func expiredKeysAreRefused() async throws {
        let harness = try await Self.harness()
        defer { Task { await harness.stop() } }
        var request = KeyIssuer.Request(name: "short")
        request.expiresAt = unixSeconds() + 1
        let (_, key) = try await KeyIssuer.create(request, storage: harness.gateway.storage)
        try await harness.gateway.keys.reload(into: harness.gateway.runtime)
        let expired = await GatewayHarness.eventually { (try? await chat(harness, key: key))?.status == 401 }
        #expect(expired)
        #expect(try await chat(harness, key: key).json?["error"]?["message"]?.stringValue?.contains("expired") == true)
    }

    @Test(arguments: [("30d", Int64(2_592_000)), ("12h", Int64(43_200)), ("90m", Int64(5_400)), ("2w", Int64(1_209_600))])
    func expiryTexts(text: String, seconds: Int64) {
        #expect(KeyIssuer.parseExpiry(text, now: 1_000) == 1_000 + seconds)
    }

    @Test func expiryDates() {
        #expect(KeyIssuer.parseExpiry("2030-01-01") == Int64(1_893_542_400))  // the end of that day
        #expect(KeyIssuer.parseExpiry("2030-01-01T00:00:00Z") == 1_893_456_000)
        #expect(KeyIssuer.parseExpiry("1893456000") == 1_893_456_000)
        #expect(KeyIssuer.parseExpiry("soon") == nil)
    }
}
