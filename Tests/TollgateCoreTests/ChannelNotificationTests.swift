import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Channel events reach the webhook through the gateway: channel_error, auth_failed,
/// balance_exhausted and api_version_deprecated; per-type hourly limits and retries with backoff
/// against a local receiver.
@Suite struct ChannelNotificationTests {
    /// A webhook receiver that fails the first `failFirst` deliveries with 500.
    static func receiver(failFirst: Int = 0) async throws -> (MockUpstream, NIOLockedValueBox<Int>) {
        let attempts = NIOLockedValueBox(0)
        let mock = try await MockUpstream { _, respond in
            let n = attempts.withLockedValue { $0 += 1; return $0 }
            respond.json(n <= failFirst ? 500 : 200, "{}")
        }
        return (mock, attempts)
    }

    static func events(_ receiver: MockUpstream) -> [JSONValue] { receiver.requests.compactMap(\.json) }

    static func gateway(webhook: String, upstream: ScriptedUpstream, perHour: Int = 10) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        notify: { webhook: "\(webhook)/hook", per_type_per_hour: \(perHour) }
        health: { probes: false, breaker_failures: 2 }
        channels:
          - { name: main, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [m, old] }
        """) { config in config.notify.backoff = .milliseconds(20) }
    }

    @Test func channelEventsReachTheWebhook() async throws {
        let (receiver, _) = try await Self.receiver()
        let upstream = try await ScriptedUpstream.start()
        let harness = try await Self.gateway(webhook: receiver.baseURL, upstream: upstream)
        defer { Task { await harness.stop(); await upstream.stop(); await receiver.stop() } }
        upstream.next(.status(401, [], #"{"error":{"message":"bad key"}}"#))
        _ = try await harness.chat(GatewayHarness.hello)
        upstream.next(.status(402, [], #"{"error":{"message":"no money"}}"#))
        harness.gateway.runtime.health.health(for: "main").withState { $0.breaker = CircuitBreaker() }  // let the next one through
        _ = try await harness.chat(GatewayHarness.hello)
        harness.gateway.runtime.health.health(for: "main").withState { $0.breaker = CircuitBreaker() }
        upstream.next(.status(500, [], "{}"), .status(500, [], "{}"))
        _ = try await harness.chat(GatewayHarness.hello)
        _ = try await harness.chat(GatewayHarness.hello)
        upstream.next(.status(410, [], #"{"error":{"message":"Model old has been retired, use 'new' instead","code":"model_not_found"}}"#))
        _ = try await harness.chat(#"{"model":"old","messages":[]}"#)
        let all = await GatewayHarness.eventually { Set(Self.events(receiver).compactMap { $0["type"]?.stringValue }).count == 4 }
        #expect(all)
        let events = Self.events(receiver)
        let types = events.compactMap { $0["type"]?.stringValue }
        #expect(Set(types) == ["auth_failed", "balance_exhausted", "channel_error", "api_version_deprecated"])
        let auth = events.first { $0["type"]?.stringValue == "auth_failed" }
        #expect(auth?["priority"]?.stringValue == "critical" && auth?["metadata"]?["channel"]?.stringValue == "main")
        #expect(auth?["message"]?.stringValue == "bad key" && auth?["timestamp"]?.stringValue != nil)
        let deprecated = events.first { $0["type"]?.stringValue == "api_version_deprecated" }
        #expect(deprecated?["metadata"]?["replacement_model"]?.stringValue == "new")
        #expect(deprecated?["metadata"]?["applied"]?.stringValue == "false")  // proposed, not applied
        #expect(receiver.requests.allSatisfy { $0.uri == "/hook" && $0.method == "POST" })
    }

    @Test func eachTypeIsLimitedPerHour() async throws {
        let (receiver, _) = try await Self.receiver()
        let upstream = try await ScriptedUpstream.start(.status(401, [], #"{"error":{"message":"bad key"}}"#))
        let harness = try await Self.gateway(webhook: receiver.baseURL, upstream: upstream, perHour: 2)
        defer { Task { await harness.stop(); await upstream.stop(); await receiver.stop() } }
        for _ in 0..<5 {
            harness.gateway.runtime.health.health(for: "main").withState { $0.breaker = CircuitBreaker() }
            _ = try await harness.chat(GatewayHarness.hello)
        }
        #expect(upstream.served == 5)
        _ = await GatewayHarness.eventually { Self.events(receiver).filter { $0["type"]?.stringValue == "auth_failed" }.count >= 2 }
        try await Task.sleep(for: .milliseconds(300))
        #expect(Self.events(receiver).filter { $0["type"]?.stringValue == "auth_failed" }.count == 2)
    }

    @Test func deliveriesAreRetriedWithBackoff() async throws {
        let (receiver, attempts) = try await Self.receiver(failFirst: 2)
        let upstream = try await ScriptedUpstream.start(.status(401, [], #"{"error":{"message":"bad key"}}"#))
        let harness = try await Self.gateway(webhook: receiver.baseURL, upstream: upstream)
        defer { Task { await harness.stop(); await upstream.stop(); await receiver.stop() } }
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 401)  // answered without waiting for the webhook
        // Two events (the breaker opened, and the credentials); the first is refused twice.
        let delivered = await GatewayHarness.eventually { attempts.withLockedValue { $0 } >= 4 }
        #expect(delivered)
        try await Task.sleep(for: .milliseconds(300))
        #expect(attempts.withLockedValue { $0 } == 4)
        let types = Self.events(receiver).compactMap { $0["type"]?.stringValue }
        #expect(types == ["channel_error", "channel_error", "channel_error", "auth_failed"])
    }
}
