import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import TollgateCore

/// Smooth weighted round-robin scaled by health: 3:1 weights split 1,000 requests 750/250, and a
/// failing channel's share drops and comes back once it recovers.
@Suite struct WeightedRoutingTests {
    static func channel(_ name: String, weight: Int, health: HealthTracker) -> RuntimeChannel {
        var config = ChannelConfig(name: name, provider: "openai", models: ["m"])
        config.weight = weight
        let endpoint = UpstreamEndpoint(tls: false, host: "127.0.0.1", port: 9)
        return RuntimeChannel(config: config, backend: .openAI(PassthroughUpstream(endpoint: endpoint, basePath: "/v1", baseHeaders: HTTPHeaders())),
                              health: health.health(for: name))
    }

    /// Routes `count` requests, one every 10 ms of a simulated clock; each outcome comes from
    /// `outcome(channel)`.
    static func run(_ router: ModelRouter, _ count: Int, clock: inout NIODeadline, outcome: (String) -> AttemptOutcome) -> [String: Int] {
        var counts: [String: Int] = [:]
        for _ in 0..<count {
            clock = clock + .milliseconds(10)
            guard case .routed(let channel, let lease) = router.route("m", now: clock) else { continue }
            counts[channel.name, default: 0] += 1
            lease?.report(outcome(channel.name), now: clock)
            lease?.end()
        }
        return counts
    }

    static let ok = AttemptOutcome.success(latency: .milliseconds(5), limits: RateLimitInfo())
    static let down = AttemptOutcome.serverError(status: 500, UpstreamErrorInfo(message: "down", scope: .unknown))

    @Test func threeToOneWeightsSplitAThousandRequests() {
        let tracker = HealthTracker()
        let router = ModelRouter(channels: [Self.channel("heavy", weight: 3, health: tracker), Self.channel("light", weight: 1, health: tracker)])
        var clock = NIODeadline.now()
        let counts = Self.run(router, 1000, clock: &clock) { _ in Self.ok }
        #expect((713...787).contains(counts["heavy"] ?? 0), "\(counts)")
        #expect(counts["heavy", default: 0] + counts["light", default: 0] == 1000)
    }

    @Test func aFailingChannelsShareDropsAndComesBack() {
        var settings = HealthSettings()
        settings.breakerCooldown = .seconds(1)
        let tracker = HealthTracker(settings: settings)
        let router = ModelRouter(channels: [Self.channel("heavy", weight: 3, health: tracker), Self.channel("light", weight: 1, health: tracker)])
        var clock = NIODeadline.now()
        let before = Self.run(router, 1000, clock: &clock) { _ in Self.ok }
        let failing = Self.run(router, 1000, clock: &clock) { $0 == "heavy" ? Self.down : Self.ok }
        let after = Self.run(router, 1000, clock: &clock) { _ in Self.ok }
        #expect((713...787).contains(before["heavy"] ?? 0))
        // Failing (10 s of simulated traffic): five failures open its breaker, then one trial a second.
        #expect((failing["heavy"] ?? 0) <= 20, "\(failing)")
        // Recovered: the next trial (within a second) succeeds and the share comes back, all of
        // it once its success rate has caught up.
        #expect((after["heavy"] ?? 0) > 600, "\(after)")
        let later = Self.run(router, 1000, clock: &clock) { _ in Self.ok }
        #expect((713...787).contains(later["heavy"] ?? 0), "\(later)")
    }

    @Test func gatewayRequestsFollowTheWeightsAndSkipAFailingChannel() async throws {
        let heavy = try await ScriptedUpstream.start()
        let light = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false, breaker_cooldown: 1h }
        channels:
          - { name: heavy, provider: openai, base_url: "\(heavy.baseURL)/v1", models: [m], weight: 3 }
          - { name: light, provider: openai, base_url: "\(light.baseURL)/v1", models: [m], weight: 1 }
        """)
        defer { Task { await harness.stop(); await heavy.stop(); await light.stop() } }
        for _ in 0..<200 { #expect(try await harness.chat(GatewayHarness.hello).status == 200) }
        #expect((140...160).contains(heavy.served), "\(heavy.served)")
        heavy.set(.status(500, [], "{}"))
        for _ in 0..<100 { #expect(try await harness.chat(GatewayHarness.hello).status == 200) }  // failover hides it
        #expect(harness.breaker("heavy", "m") == "open")
        let servedWhileFailing = heavy.served
        for _ in 0..<50 { _ = try await harness.chat(GatewayHarness.hello) }
        #expect(heavy.served == servedWhileFailing)  // open: nothing reaches it
    }
}
