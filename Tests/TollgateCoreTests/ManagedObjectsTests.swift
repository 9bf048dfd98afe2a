import Foundation
import Testing
@testable import TollgateCore

/// Channels, prices, exchange rates and templates managed through the admin API: validated,
/// stored, applied at once, kept across a restart, and seen by another instance.
@Suite struct ManagedObjectsTests {
    static let adminKey = "tg-admin-managed-0123456789"

    func admin(_ h: GatewayHarness, _ method: String, _ path: String, _ body: String? = nil) async throws -> TestResponse {
        try await h.client.fetch(port: h.port, method: method, path: path,
                                 headers: [("authorization", "Bearer \(Self.adminKey)"), ("content-type", "application/json")],
                                 body: Array((body ?? "").utf8))
    }

    static func yaml(_ extra: String = "") -> String {
        "admin_key: \(adminKey)\nstorage_refresh: 200ms\n\(extra)channels:\n  - { name: m, provider: mock, models: [mock-echo] }"
    }

    @Test func aChannelPutThroughTheAdminAPIServesAtOnceAndSurvivesARestart() async throws {
        let upstream = try await BillingGatewayTests.upstream()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-managed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let h = try await GatewayHarness.start(Self.yaml(), dataDirectory: dir)
        #expect(try await h.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 404)
        let body = #"{"provider":"openai","base_url":"\#(upstream.baseURL)/v1","credentials":{"api_key":"sk-up-secret"},"models":["gpt-4o"]}"#
        let put = try await admin(h, "PUT", "/admin/channels/dynamic", body)
        #expect(put.status == 200)
        let served = try await h.chat(#"{"model":"gpt-4o","messages":[]}"#)
        #expect(served.status == 200 && served.header("x-tollgate-channel") == "dynamic")
        #expect(upstream.requests.last?.header("authorization") == "Bearer sk-up-secret")
        let list = try await admin(h, "GET", "/admin/channels")
        #expect(list.text.contains(#""name":"dynamic""#) && list.text.contains(#""source":"config""#))
        #expect(!list.text.contains("sk-up-secret") && list.text.contains("****"))
        // Refused with the field named; a config channel cannot be replaced here.
        let bad = try await admin(h, "PUT", "/admin/channels/broken", #"{"provider":"openai","base_url":"ftp://x","models":["a"]}"#)
        #expect(bad.status == 400 && bad.text.contains("base_url"))
        #expect(try await admin(h, "PUT", "/admin/channels/x", #"{"provider":"nowhere","models":["a"]}"#).status == 400)
        #expect(try await admin(h, "PUT", "/admin/channels/m", #"{"provider":"mock","models":["mock-echo"]}"#).status == 409)
        #expect(try await admin(h, "PUT", "/admin/channels/x", "not json").status == 400)
        await h.gateway.stop()
        await h.client.shutdown()

        let again = try await GatewayHarness.start(Self.yaml(), dataDirectory: dir)
        #expect(try await again.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)  // the stored channel is back
        #expect(try await admin(again, "DELETE", "/admin/channels/dynamic").status == 200)
        #expect(try await again.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 404)
        #expect(try await admin(again, "DELETE", "/admin/channels/dynamic").status == 404)
        await again.stop()
        await upstream.stop()
    }

    @Test func aPriceEntryPutThroughTheAdminAPIBillsAtOnce() async throws {
        let upstream = try await BillingGatewayTests.upstream()
        let h = try await GatewayHarness.start("""
        admin_key: \(Self.adminKey)
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        defer { Task { await h.stop(); await upstream.stop() } }
        #expect(try await h.chat(#"{"model":"gpt-4o","messages":[]}"#).header("x-tollgate-cost") == "0.004000000")
        // Field by field over the list: only the output price changes (200 x $20 per 1M instead of $10).
        let put = try await admin(h, "PUT", "/admin/prices/gpt-4o", #"{"output_cost_per_token": 2e-05}"#)
        #expect(put.status == 200, "\(put.text)")
        let priced = try await h.chat(#"{"model":"gpt-4o","messages":[]}"#)
        #expect(priced.header("x-tollgate-cost") == "0.006000000", "\(priced.status) \(priced.text)")
        let refused = try await admin(h, "PUT", "/admin/prices/gpt-4o", #"{"input_cost_per_token": -1}"#)
        #expect(refused.status == 400 && refused.text.contains("input_cost_per_token"))
        let deleted = try await admin(h, "DELETE", "/admin/prices/gpt-4o")
        #expect(deleted.status == 200, "\(deleted.text)")
        #expect(try await h.chat(#"{"model":"gpt-4o","messages":[]}"#).header("x-tollgate-cost") == "0.004000000")
    }

    @Test func exchangeRatesAreCheckedStoredAndListed() async throws {
        let h = try await GatewayHarness.start(Self.yaml())
        defer { Task { await h.stop() } }
        #expect(try await admin(h, "PUT", "/admin/exchange-rates/CNY", #"{"rate": 7.2}"#).status == 200)
        #expect(h.gateway.runtime.rates.rates.rates["CNY"]?.nanoPerUSD == 7_200_000_000)
        #expect(try await admin(h, "PUT", "/admin/exchange-rates/yuan", #"{"rate": 7.2}"#).status == 400)
        #expect(try await admin(h, "PUT", "/admin/exchange-rates/EUR", #"{"rate": "lots"}"#).status == 400)
        #expect(try await admin(h, "GET", "/admin/exchange-rates").text.contains(#""name":"CNY""#))
        #expect(try await admin(h, "PATCH", "/admin/exchange-rates/CNY", "{}").status == 405)
    }

    @Test func pluginsAndTemplatesAreListed() async throws {
        let h = try await GatewayHarness.start(Self.yaml())
        defer { Task { await h.stop() } }
        let listed = try #require(try await admin(h, "GET", "/admin/plugins").json)
        let billing = listed["plugins"]?.arrayValue?.first { $0["name"]?.stringValue == "billing" }
        #expect(billing?["status"]?.stringValue == "loaded" && billing?["kind"]?.stringValue == "billing")
        #expect(listed["templates"]?.arrayValue != nil)
        #expect(try await h.client.fetch(port: h.port, method: "GET", path: "/admin/plugins").status == 401)
    }

    @Test func aTemplatePutThroughTheAdminAPIServesItsProvider() async throws {
        let upstream = try await BillingGatewayTests.upstream()
        let h = try await GatewayHarness.start(Self.yaml())
        defer { Task { await h.stop(); await upstream.stop() } }
        let template = """
        {"provider":"acme","base_url":"\(upstream.baseURL)","auth":{"style":"bearer"},
         "endpoints":{"chat":"/v1/chat/completions"}}
        """
        let put = try await admin(h, "PUT", "/admin/templates/acme", template)
        #expect(put.status == 200, "\(put.text)")
        #expect(try await admin(h, "PUT", "/admin/templates/other", template).status == 400)  // the URL must name its provider
        let channel = #"{"provider":"acme","credentials":{"api_key":"sk-acme"},"models":["acme-*"]}"#
        #expect(try await admin(h, "PUT", "/admin/channels/acme-main", channel).status == 200)
        let answer = try await h.chat(#"{"model":"acme-1","messages":[]}"#)
        #expect(answer.status == 200 && upstream.requests.last?.header("authorization") == "Bearer sk-acme", "\(answer.status) \(answer.text)")
    }

    @Test func anotherInstanceAppliesWhatOneStored() async throws {
        let url = try await TestDatabases.freshURL(ScaleOutTests.backend)
        let a = try await GatewayHarness.start(Self.yaml("storage: \"\(url)\"\n"))
        let b = try await GatewayHarness.start(Self.yaml("storage: \"\(url)\"\n"))
        defer { Task { await a.stop(); await b.stop() } }
        #expect(try await admin(a, "PUT", "/admin/channels/echo2", #"{"provider":"mock","models":["echo-two"]}"#).status == 200)
        var status = 0
        for _ in 0..<50 {
            status = try await b.chat(#"{"model":"echo-two","messages":[{"role":"user","content":"hi"}]}"#).status
            if status == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status == 200)
    }
}
