import Foundation
import Testing
@testable import TollgateCore

/// Credentials put through the admin API are sealed at rest (AES-256-GCM), every GET masks them,
/// and PostgreSQL connections honour `sslmode`.
@Suite struct SecretSealingTests {
    static let adminKey = "tg-admin-sealing-0123456789abcdef"
    static let key = [UInt8](repeating: 7, count: 32)

    func admin(_ h: GatewayHarness, _ method: String, _ path: String, _ body: String = "") async throws -> TestResponse {
        try await h.client.fetch(port: h.port, method: method, path: path, headers: [("authorization", "Bearer \(Self.adminKey)")],
                                 body: Array(body.utf8))
    }

    @Test func aSealedValueOpensOnlyWithItsKeyAndUnaltered() throws {
        let sealer = try #require(SecretSealer(key: Self.key))
        let one = try sealer.seal("sk-upstream-secret"), two = try sealer.seal("sk-upstream-secret")
        #expect(one != two && SecretSealer.isSealed(one) && !one.contains("sk-upstream"))  // a fresh nonce each time
        #expect(try sealer.open(one) == "sk-upstream-secret")
        #expect(try sealer.open(try sealer.seal("")) == "")
        let other = try #require(SecretSealer(key: [UInt8](repeating: 8, count: 32)))
        #expect(throws: SecretSealer.Failure.self) { try other.open(one) }
        var bytes = Array(try #require(Data(base64Encoded: String(one.dropFirst(SecretSealer.prefix.count)))))
        bytes[14] ^= 1
        #expect(throws: SecretSealer.Failure.self) { try sealer.open(SecretSealer.prefix + Data(bytes).base64EncodedString()) }
        for broken in ["tg-sealed:v1:", "tg-sealed:v1:!!!", "tg-sealed:v1:AAAA", "plain"] {
            #expect(throws: SecretSealer.Failure.self) { try sealer.open(broken) }
        }
    }

    @Test func keysAreHexOrBase64Of32Bytes() {
        #expect(SecretSealer.parseKey(String(repeating: "ab", count: 32)) == [UInt8](repeating: 0xAB, count: 32))
        #expect(SecretSealer.parseKey(Data(Self.key).base64EncodedString()) == Self.key)
        for bad in ["", "abc", String(repeating: "zz", count: 32), Data([1, 2, 3]).base64EncodedString(), String(repeating: "a", count: 63)] {
            #expect(SecretSealer.parseKey(bad) == nil, "\(bad)")
        }
        #expect(throws: ConfigError.self) { try SecretSealer.load(key: "short", storageURL: "sqlite:///x.db", dataDirectory: "/tmp") }
    }

    @Test func credentialsAreStoredSealedAndServedOpened() async throws {
        let upstream = try await BillingGatewayTests.upstream()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-sealed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = "admin_key: \(Self.adminKey)"
        let h = try await GatewayHarness.start(yaml, dataDirectory: dir)
        let body = #"{"provider":"openai","base_url":"\#(upstream.baseURL)/v1","credentials":{"api_key":"sk-up-plain-secret"},"models":["gpt-4o"]}"#
        #expect(try await admin(h, "PUT", "/admin/channels/sealed", body).status == 200)
        let stored = try #require(try await h.gateway.storage.objects(kind: .channel).first { $0.name == "sealed" })
        let text = String(decoding: stored.body, as: UTF8.self)
        #expect(!text.contains("sk-up-plain-secret") && text.contains(SecretSealer.prefix))
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/secret-key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try await h.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)
        #expect(upstream.requests.last?.header("authorization") == "Bearer sk-up-plain-secret")
        let shown = try await admin(h, "GET", "/admin/channels/sealed").text
        #expect(!shown.contains("sk-up-plain") && !shown.contains(SecretSealer.prefix) && shown.contains("****"))
        await h.gateway.stop()
        await h.client.shutdown()

        // A restart on the same data directory opens them with the kept key.
        let again = try await GatewayHarness.start(yaml, dataDirectory: dir)
        #expect(try await again.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)
        #expect(upstream.requests.last?.header("authorization") == "Bearer sk-up-plain-secret")
        await again.stop()
        await upstream.stop()
    }

    @Test func templateHeadersAreMaskedToo() async throws {
        let h = try await GatewayHarness.start("admin_key: \(Self.adminKey)")
        defer { Task { await h.stop() } }
        let template = #"{"provider":"acme","base_url":"https://acme.example","auth":{"style":"bearer"},"endpoints":{"chat":"/v1/chat"},"headers":{"x-org-secret":"org-123-secret"}}"#
        #expect(try await admin(h, "PUT", "/admin/templates/acme", template).status == 200)
        for path in ["/admin/templates", "/admin/templates/acme"] {
            let shown = try await admin(h, "GET", path).text
            #expect(!shown.contains("org-123-secret") && shown.contains("x-org-secret"), "\(path)")
        }
    }

    @Test(.enabled(if: TestDatabases.postgresURL != nil, "needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)"))
    func onPostgreSQLCredentialsNeedTheSharedKey() async throws {
        let url = try await TestDatabases.freshURL("postgres")
        let yaml = "admin_key: \(Self.adminKey)\nstorage: \"\(url)\""
        let body = #"{"provider":"openai","base_url":"https://api.example/v1","credentials":{"api_key":"sk-x"},"models":["gpt-4o"]}"#
        let without = try await GatewayHarness.start(yaml) { $0.secretKey = nil }
        let refused = try await admin(without, "PUT", "/admin/channels/up", body)
        #expect(refused.status == 409 && refused.text.contains("TOLLGATE_SECRET_KEY"))
        #expect(try await admin(without, "PUT", "/admin/channels/echo", #"{"provider":"mock","models":["e"]}"#).status == 200)
        await without.stop()
        let with = try await GatewayHarness.start(yaml) { $0.secretKey = String(repeating: "0f", count: 32) }
        defer { Task { await with.stop() } }
        #expect(try await admin(with, "PUT", "/admin/channels/up", body).status == 200)
        #expect(with.gateway.runtime.snapshot.router.channels.contains { $0.name == "up" })
    }

    @Test func sslmodeIsHonoured() async throws {
        #expect(throws: StorageError.self) { try PostgresStorage.tls([URLQueryItem(name: "sslmode", value: "sometimes")]) }
        #expect(throws: Never.self) { try PostgresStorage.tls([URLQueryItem(name: "sslmode", value: "verify-full")]) }
        guard let base = TestDatabases.postgresURL else { return }
        // The test server does not speak TLS: a URL that requires it is refused, never used in clear.
        let separator = base.contains("?") ? "&" : "?"
        await #expect(throws: (any Error).self) {
            _ = try await PostgresStorage.open(url: base + separator + "sslmode=require", logger: .init(label: "t"))
        }
    }
}
