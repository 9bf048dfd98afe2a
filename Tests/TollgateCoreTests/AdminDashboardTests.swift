import Foundation
import Testing
@testable import TollgateCore

/// The admin routes behind the dashboard, through a running gateway: recent requests from the
/// ledger, channels taken out of rotation and back (routing honours it at once), spend split by
/// a second grouping, and the health view's median latency.
@Suite struct AdminDashboardTests {
    let keys = KeyAdminTests()

    static func harness(extra: String = "") async throws -> (GatewayHarness, MockUpstream) {
        let upstream = try await BillingGatewayTests.upstream()
        let harness = try await GatewayHarness.start("""
        admin_key: \(KeyAdminTests.adminKey)
        ledger: { flush_interval: 10ms }
        channels:
          - { name: mock, provider: mock, models: [mock-echo, other] }
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        \(extra)
        """)
        return (harness, upstream)
    }

    func admin(_ harness: GatewayHarness, _ method: String, _ path: String, _ body: String = "") async throws -> TestResponse {
        try await keys.admin(harness, method, path, body)
    }

    /// The recent-requests rows, once `count` of them reached the ledger.
    func recent(_ harness: GatewayHarness, _ query: String = "", count: Int) async throws -> [JSONValue] {
        var rows: [JSONValue] = []
        _ = await GatewayHarness.eventually {
            rows = (try? await admin(harness, "GET", "/admin/requests" + query))?.json?["data"]?.arrayValue ?? []
            return rows.count >= count
        }
        return rows
    }

    @Test func recentRequestsAreTheNewestClientRequestsFiltered() async throws {
        let (harness, upstream) = try await Self.harness()
        defer { Task { await harness.stop(); await upstream.stop() } }
        let other = try await KeyChangeTests().made(harness, #"{"name":"other-team"}"#)
        #expect(try await keys.chat(harness, key: GatewayHarness.clientKey).status == 200)
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)
        #expect(try await keys.chat(harness, key: other, model: "nope").status == 404)
        #expect(try await keys.chat(harness, key: "wrong-key").status == 401)

        let all = try await recent(harness, count: 4)
        #expect(all.count == 4)  // the admin calls themselves are not listed
        #expect(all.compactMap { $0["status"]?.int64Value }.sorted() == [200, 200, 404, 401].sorted())
        let times = all.compactMap { $0["started_at_ms"]?.int64Value }
        #expect(times.count == 4 && zip(times, times.dropFirst()).allSatisfy { $0 >= $1 })  // newest first
        let priced = all.first { $0["model"]?.stringValue == "gpt-4o" }
        #expect(priced?["key"]?.stringValue == "tester" && priced?["channel"]?.stringValue == "up" && priced?["prompt_tokens"]?.int64Value == 1000)
        #expect(priced?["cost_nano"]?.int64Value == 4_000_000 && priced?["currency"]?.stringValue == "USD" && priced?["estimated"] == .bool(false))

        #expect(try await recent(harness, "?key=tester", count: 2).compactMap { $0["key"]?.stringValue } == ["tester", "tester"])
        #expect(try await recent(harness, "?model=gpt-4o", count: 1).count == 1)
        #expect(try await recent(harness, "?status=4xx", count: 2).compactMap { $0["status"]?.int64Value }.sorted() == [401, 404])
        #expect(try await recent(harness, "?status=404&key=other-team", count: 1).count == 1)
        #expect(try await recent(harness, "?limit=1", count: 1).count == 1)
        for bad in ["?status=abc", "?status=6xx", "?status=99", "?limit=0", "?limit=101", "?limit=x"] {
            #expect(try await admin(harness, "GET", "/admin/requests" + bad).status == 400, "\(bad)")
        }
    }

    @Test func aChannelOutOfRotationIsNeverRoutedTo() async throws {
        let (harness, upstream) = try await Self.harness()
        defer { Task { await harness.stop(); await upstream.stop() } }
        // A config-file channel: only its rotation can be set here.
        #expect(try await admin(harness, "PUT", "/admin/channels/mock", #"{"enabled":false}"#).status == 200)
        let resting = try await keys.chat(harness, key: GatewayHarness.clientKey)
        #expect(resting.status == 503 && resting.json?["error"]?["message"]?.stringValue?.contains("out of rotation") == true)
        let health = try await admin(harness, "GET", "/admin/health")
        #expect(health.json?["channels"]?.arrayValue?.first { $0["name"]?.stringValue == "mock" }?["enabled"] == .bool(false))
        let listed = try await admin(harness, "GET", "/admin/channels").json?["data"]?.arrayValue ?? []
        #expect(listed.filter { $0["name"]?.stringValue == "mock" }.map { $0["body"]?["enabled"] } == [.bool(false)])
        #expect(try await admin(harness, "PUT", "/admin/channels/mock", #"{"enabled":true}"#).status == 200)
        #expect(try await keys.chat(harness, key: GatewayHarness.clientKey).status == 200)

        let whole = try await admin(harness, "PUT", "/admin/channels/mock", #"{"provider":"mock","models":["x"]}"#)
        #expect(whole.status == 409 && whole.json?["error"]?["message"]?.stringValue?.contains("test.yaml, line") == true)

        // A stored channel beside the config one: out of rotation, its model goes to the other.
        #expect(try await admin(harness, "PUT", "/admin/channels/second", #"{"provider":"mock","models":["other"],"priority":0}"#).status == 200)
        #expect(try await admin(harness, "PUT", "/admin/channels/second", #"{"enabled":false}"#).status == 200)
        let stored = try await admin(harness, "GET", "/admin/channels/second")
        #expect(stored.json?["body"]?["enabled"] == .bool(false) && stored.json?["body"]?["models"] == .array([.string("other")]))
        for _ in 0..<4 {
            let answer = try await keys.chat(harness, key: GatewayHarness.clientKey, model: "other")
            #expect(answer.status == 200 && answer.header("x-tollgate-channel") == "mock")
        }

        for (path, body, status) in [("/admin/channels/nobody", #"{"enabled":false}"#, 404), ("/admin/channels/second", #"{"enabled":"no"}"#, 400),
                                     ("/admin/channels/second", #"{"enabled":false,"colour":1}"#, 400)] {
            #expect(try await admin(harness, "PUT", path, body).status == status, "\(path) \(body)")
        }
    }

    @Test func channelsOutOfRotationInTheConfigFileStayOut() async throws {
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: resting, provider: mock, models: [mock-echo], enabled: false }
        """)
        defer { Task { await harness.stop() } }
        #expect(try await harness.chat(#"{"model":"mock-echo","messages":[]}"#).status == 503)
        #expect(throws: ConfigError.self) {
            _ = try ConfigLoader.parse("channels:\n  - { name: x, provider: mock, enabled: maybe }", file: "bad.yaml")
        }
    }

    @Test func spendCanBeSplitBySecondGrouping() async throws {
        let (harness, upstream) = try await Self.harness()
        defer { Task { await harness.stop(); await upstream.stop() } }
        let other = try await KeyChangeTests().made(harness, #"{"name":"other-team"}"#)
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)
        #expect(try await keys.chat(harness, key: other, model: "gpt-4o").status == 200)
        _ = try await recent(harness, count: 2)
        let split = try await admin(harness, "GET", "/admin/usage?group_by=day&split_by=key")
        let rows: [JSONValue] = (split.json?["data"]?.arrayValue ?? []).filter { ($0["cost_nano"]?.int64Value ?? 0) > 0 }
        #expect(Set(rows.compactMap { $0["split"]?.stringValue }) == ["tester", "other-team"])
        #expect(Set(rows.compactMap { $0["group"]?.stringValue }).count == 1 && split.json?["currency"]?.stringValue == "USD")
        #expect(try await admin(harness, "GET", "/admin/usage?group_by=key").json?["data"]?.arrayValue?.first?["split"] == .null)
        for bad in ["?group_by=day&split_by=day", "?group_by=day&split_by=colour"] {
            #expect(try await admin(harness, "GET", "/admin/usage" + bad).status == 400, "\(bad)")
        }
    }

    @Test func theHealthViewShowsTheMedianLatency() async throws {
        let (harness, upstream) = try await Self.harness()
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)
        let health = try await admin(harness, "GET", "/admin/health")
        let model = health.json?["channels"]?.arrayValue?.first { $0["name"]?.stringValue == "up" }?["models"]?.arrayValue?.first
        #expect(model?["latency_p50_ms"]?.doubleValue != nil && health.json?["channels"]?.arrayValue?.allSatisfy { $0["enabled"] == .bool(true) } == true)

        var window = LatencyWindow()
        #expect(window.median == nil)
        for millis in [5.0, 1, 9] { window.add(millis) }
        #expect(window.median == 5)
        window.add(7)
        #expect(window.median == 6)
        for _ in 0..<LatencyWindow.capacity { window.add(100) }  // the ring keeps the last 64 only
        #expect(window.median == 100)
    }
}
