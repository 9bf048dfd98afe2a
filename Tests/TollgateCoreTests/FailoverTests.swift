import Foundation
import Testing
@testable import TollgateCore

/// Failover before the first byte: rate limits, server errors, hangs and refused connections
/// move the request to the next channel; errors caused by the request do not.
@Suite struct FailoverTests {
    static func twoChannels(_ a: ScriptedUpstream, _ b: String, extra: String = "") -> String {
        """
        health: { probes: false }
        \(extra)
        channels:
          - { name: a, provider: openai, base_url: "\(a.baseURL)/v1", models: [m], priority: 0 }
          - { name: b, provider: openai, base_url: "\(b)/v1", models: [m], priority: 1 }
        """
    }

    @Test func a429FailsOverAndTheClientSeesOneSuccess() async throws {
        // A wait no loaded machine outlasts: the second request must still find `a` rate limited.
        let a = try await ScriptedUpstream.start(.status(429, [("retry-after", "3000")], #"{"error":{"message":"slow down","type":"requests"}}"#))
        let b = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.twoChannels(a, b.baseURL))
        defer { Task { await harness.stop(); await a.stop(); await b.stop() } }

        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 200)
        #expect(response.header("x-tollgate-channel") == "b")
        #expect(a.served == 1 && b.served == 1)
        #expect(harness.status("a", "m") == "RateLimited")
        // The record names the channel that answered, once.
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.channel == "b" && record?.status == 200)
        #expect(harness.records.all.filter { $0.requestID == response.header("x-request-id") }.count == 1)
        // While rate limited, `a` is skipped: the next request goes straight to `b`.
        let next = try await harness.chat(GatewayHarness.hello)
        #expect(next.status == 200 && next.header("x-tollgate-channel") == "b")
        #expect(a.served == 1 && b.served == 2)
    }

    @Test func streamsFailOverToo() async throws {
        let a = try await ScriptedUpstream.start(.status(503, [], #"{"error":{"message":"overloaded"}}"#))
        let b = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.twoChannels(a, b.baseURL))
        defer { Task { await harness.stop(); await a.stop(); await b.stop() } }
        let response = try await harness.chat(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200 && response.text.contains("data: [DONE]"))
        #expect(response.header("x-tollgate-channel") == "b")
        #expect(harness.status("a", "m") == "TemporarilyDown")
    }

    @Test func aBadRequestIsNotRetried() async throws {
        let a = try await ScriptedUpstream.start(.status(400, [], #"{"error":{"message":"bad 'temperature'","type":"invalid_request_error"}}"#))
        let b = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.twoChannels(a, b.baseURL))
        defer { Task { await harness.stop(); await a.stop(); await b.stop() } }
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 400)
        #expect(response.json?["error"]?["message"]?.stringValue == "bad 'temperature'")
        #expect(a.served == 1 && b.served == 0)
        #expect(harness.status("a", "m") == "Available")
    }

    @Test func refusedConnectionsAndHangsFailOver() async throws {
        let dead = try await ScriptedUpstream.closedPort()
        let hanging = try await ScriptedUpstream.start(.hang)
        let good = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        upstream: { response_timeout: 300ms }
        channels:
          - { name: dead, provider: openai, base_url: "http://127.0.0.1:\(dead)/v1", models: [m], priority: 0 }
          - { name: hang, provider: openai, base_url: "\(hanging.baseURL)/v1", models: [m], priority: 1 }
          - { name: good, provider: openai, base_url: "\(good.baseURL)/v1", models: [m], priority: 2 }
        """)
        defer { Task { await harness.stop(); await hanging.stop(); await good.stop() } }
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 200 && response.header("x-tollgate-channel") == "good")
        #expect(harness.status("dead", "m") == "TemporarilyDown")
        #expect(harness.health("dead", "m")?["last_error"]?.stringValue?.contains("could not connect") == true)
        #expect(harness.status("hang", "m") == "TemporarilyDown")
        #expect(harness.health("hang", "m")?["last_error"]?.stringValue?.contains("no answer") == true)
    }

    @Test func retriesAreCountedAndTheLastAnswerStands() async throws {
        let a = try await ScriptedUpstream.start(.status(500, [], #"{"error":{"message":"a is down"}}"#))
        let b = try await ScriptedUpstream.start(.status(502, [], #"{"error":{"message":"b is down"}}"#))
        let harness = try await GatewayHarness.start(Self.twoChannels(a, b.baseURL, extra: "routing: { retries: 0 }"))
        defer { Task { await harness.stop(); await a.stop(); await b.stop() } }
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 500 && a.served == 1 && b.served == 0)  // no retries configured

        let harness2 = try await GatewayHarness.start(Self.twoChannels(a, b.baseURL))
        defer { Task { await harness2.stop() } }
        let both = try await harness2.chat(GatewayHarness.hello)
        #expect(both.status == 502)  // every channel failed: the last answer, passed through
        #expect(both.json?["error"]?["message"]?.stringValue == "b is down")
    }

    @Test func whenEveryChannelIsRateLimitedTheClientGets429WithRetryAfterInItsDialect() async throws {
        // A wait no loaded machine outlasts between the two requests (the second must find `a` still limited).
        let a = try await ScriptedUpstream.start(.status(429, [("retry-after", "3000")], #"{"error":{"message":"slow down"}}"#))
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - { name: a, provider: openai, base_url: "\(a.baseURL)/v1", models: [m] }
        """)
        defer { Task { await harness.stop(); await a.stop() } }
        let sent = ContinuousClock.now
        let first = try await harness.chat(GatewayHarness.hello)
        #expect(first.status == 429 && first.header("retry-after") == "3000")  // the upstream's own answer
        let second = try await harness.chat(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
                                            path: "/v1/messages")
        #expect(second.status == 429)
        #expect(second.json?["type"]?.stringValue == "error" && second.json?["error"]?["type"]?.stringValue == "rate_limit_error")
        // What is left of the upstream's 3000 s (a loaded machine may have taken a while meanwhile).
        let passed = Int((ContinuousClock.now - sent).components.seconds)
        #expect(Int(second.header("retry-after") ?? "") ?? 0 >= 2999 - passed)
        #expect(a.served == 1)  // the gateway answered itself
    }
}
