import Foundation
import Testing
@testable import TollgateCore

/// Each transition of channel state, breaker and adaptive limit, driven by a mock upstream that
/// answers on command; and where the next request goes.
@Suite struct ChannelStateTests {
    static func gateway(_ primary: ScriptedUpstream, backup: ScriptedUpstream? = nil, health: String = "probes: false",
                        extra: String = "", provider: String = "openai") async throws -> GatewayHarness {
        var yaml = """
        health: { \(health) }
        \(extra)
        channels:
          - \(mainChannel(provider, primary.baseURL))
        """
        if let backup { yaml += "\n  - { name: backup, provider: openai, base_url: \"\(backup.baseURL)/v1\", models: [m], priority: 1 }" }
        return try await GatewayHarness.start(yaml, pluginsDirectory: provider == "openai" ? nil : BuildProducts.directory)
    }

    /// The `main` channel, served by the provider's plugin speaking its wire format (or openai).
    static func mainChannel(_ provider: String, _ url: String) -> String {
        switch provider {
        case "claude", "gemini":
            "{ name: main, provider: \(provider), base_url: \"\(url)\", credentials: { api_key: k }, models: [m], priority: 0 }"
        case "bedrock":
            "{ name: main, provider: bedrock, base_url: \"\(url)\", credentials: { access_key_id: AKID, secret_access_key: s }, options: { region: us-east-1 }, models: [m], priority: 0 }"
        default:
            "{ name: main, provider: openai, base_url: \"\(url)/v1\", models: [m], priority: 0 }"
        }
    }

    @Test func fiveServerErrorsOpenTheBreakerThenOneTrialClosesIt() async throws {
        let main = try await ScriptedUpstream.start(.status(500, [], #"{"error":{"message":"boom"}}"#))
        let backup = try await ScriptedUpstream.start()
        let harness = try await Self.gateway(main, backup: backup, health: "probes: false, breaker_cooldown: 1s")
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        for attempt in 1...4 {
            let response = try await harness.chat(GatewayHarness.hello)
            #expect(response.header("x-tollgate-channel") == "backup")
            #expect(harness.breaker("main", "m") == "closed")
            #expect(harness.health("main", "m")?["breaker"]?["consecutive_failures"]?.int64Value == Int64(attempt))
        }
        _ = try await harness.chat(GatewayHarness.hello)
        #expect(harness.breaker("main", "m") == "open" && harness.status("main", "m") == "TemporarilyDown")
        #expect(main.served == 5)
        // Open: requests go to the backup. However slow the machine, main sees at most one trial
        // per cooldown, and a failed trial fails over to the backup too: counted, not timed.
        for _ in 0..<3 {
            #expect(try await harness.chat(GatewayHarness.hello).header("x-tollgate-channel") == "backup")
        }
        let trialsMeanwhile = main.served - 5
        #expect(trialsMeanwhile <= 3)  // at most one trial per cooldown reached main
        // After the cooldown, one trial reaches main; it succeeds and closes the breaker.
        main.set(.ok)
        let recovered = await GatewayHarness.eventually {
            (try? await harness.chat(GatewayHarness.hello))?.header("x-tollgate-channel") == "main"
        }
        #expect(recovered)
        #expect(harness.breaker("main", "m") == "closed" && harness.status("main", "m") == "Available")
        #expect(main.served == 6 + trialsMeanwhile)
    }

    @Test func aFailedTrialReopensTheBreaker() async throws {
        let main = try await ScriptedUpstream.start(.status(503, [], "{}"))
        let backup = try await ScriptedUpstream.start()
        let harness = try await Self.gateway(main, backup: backup, health: "probes: false, breaker_failures: 1, breaker_cooldown: 300ms")
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        _ = try await harness.chat(GatewayHarness.hello)
        #expect(harness.breaker("main", "m") == "open")
        let tried = await GatewayHarness.eventually {
            _ = try? await harness.chat(GatewayHarness.hello)
            return main.served == 2
        }
        #expect(tried)
        #expect(harness.breaker("main", "m") == "open")
        #expect(harness.health("main", "m")?["breaker"]?["times_opened"]?.int64Value == 2)
    }

    @Test func unauthorizedOpensTheChannelAtOnceAndAProbeRestoresIt() async throws {
        let main = try await ScriptedUpstream.start(.status(401, [], #"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#))
        let backup = try await ScriptedUpstream.start()
        let harness = try await Self.gateway(main, backup: backup, health: "probe_interval: 200ms, breaker_cooldown: 200ms")
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 200 && response.header("x-tollgate-channel") == "backup")
        #expect(harness.channelHealth("main")?["auth_failed"]?.boolValue == true)
        #expect(harness.channelHealth("main")?["last_error"]?.stringValue?.contains("Incorrect API key") == true)
        // The key is fixed upstream; the periodic probe finds out and the channel comes back.
        main.set(.ok)
        let restored = await GatewayHarness.eventually { harness.channelBreaker("main") == "closed" }
        #expect(restored)
        #expect(main.probes >= 1)
        #expect(harness.channelHealth("main")?["auth_failed"]?.boolValue == false)
        #expect(try await harness.chat(GatewayHarness.hello).header("x-tollgate-channel") == "main")
    }

    @Test func paymentRequiredExhaustsTheBalance() async throws {
        let main = try await ScriptedUpstream.start(.status(402, [], #"{"error":{"message":"Insufficient balance"}}"#))
        let backup = try await ScriptedUpstream.start()
        // A cooldown longer than any loaded run: the second request must not find a trial due.
        let harness = try await Self.gateway(main, backup: backup, health: "probes: false, breaker_cooldown: 1h")
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        #expect(try await harness.chat(GatewayHarness.hello).header("x-tollgate-channel") == "backup")
        #expect(harness.channelHealth("main")?["balance"]?.stringValue == "Exhausted")
        #expect(harness.channelBreaker("main") == "open")
        #expect(harness.status("main", "m") == "QuotaExhausted")
        #expect(try await harness.chat(GatewayHarness.hello).header("x-tollgate-channel") == "backup")
        #expect(main.served == 1)
    }

    @Test func notFoundTakesOnlyThatModelOut() async throws {
        let main = try await MockUpstream { request, respond in
            if request.json?["model"]?.stringValue == "gone" {
                respond.json(404, #"{"error":{"message":"The model `gone` does not exist","code":"model_not_found"}}"#)
            } else {
                ScriptedUpstream.answerOK(request, respond)
            }
        }
        let harness = try await GatewayHarness.start("""
        health: { probes: false, breaker_cooldown: 1h }
        channels:
          - { name: main, provider: openai, base_url: "\(main.baseURL)/v1", models: [gone, here] }
        """)
        defer { Task { await harness.stop(); await main.stop() } }
        #expect(try await harness.chat(#"{"model":"gone","messages":[]}"#).status == 404)
        #expect(harness.status("main", "gone") == "ModelNotFound" && harness.breaker("main", "gone") == "open")
        #expect(harness.status("main", "here") == "Available")
        #expect(try await harness.chat(#"{"model":"here","messages":[]}"#).status == 200)
        let again = try await harness.chat(#"{"model":"gone","messages":[]}"#)
        #expect(again.status == 503 && again.json?["error"]?["code"]?.stringValue == "no_channel_available")
        #expect(main.requests.count == 2)
    }

    @Test(arguments: [
        ("openai", [("x-ratelimit-limit-requests", "60"), ("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s")],
         #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#, 300),
        ("claude", [("anthropic-ratelimit-requests-remaining", "0"), ("retry-after", "45")],
         #"{"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}"#, 40),
        // Only the Claude plugin reads Anthropic's reset instant: the exhausted budget's reset is the advice.
        ("claude", [("anthropic-ratelimit-requests-remaining", "0"), ("anthropic-ratelimit-requests-reset", "2099-01-01T00:00:00Z")],
         #"{"type":"error","error":{"type":"rate_limit_error","message":"rate limited"}}"#, 86_400),
        ("azure", [("retry-after-ms", "90000"), ("x-ms-region", "eastus")], #"{"error":{"code":"429","message":"Requests exceeded"}}"#, 80),
        ("gemini", [], #"{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"120s"}]}}"#, 110),
        ("bedrock", [("x-amzn-ErrorType", "ThrottlingException")], #"{"message":"Too many requests, please wait before trying again."}"#, 50),
    ])
    func rateLimitsOfEveryProviderKeepTheModelAwayForTheirAdvice(provider: String, headers: [(String, String)], body: String,
                                                                  minimumSeconds: Int) async throws {
        let main = try await ScriptedUpstream.start(.status(429, headers, body))
        let backup = try await ScriptedUpstream.start()
        let harness = try await Self.gateway(main, backup: backup, provider: provider == "azure" ? "openai" : provider)
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        let sent = ContinuousClock.now
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 200 && response.header("x-tollgate-channel") == "backup")
        #expect(harness.status("main", "m") == "RateLimited")
        let retryIn = harness.health("main", "m")?["retry_in_ms"]?.int64Value ?? 0
        // The advice counts from the answer: what has passed since (a loaded machine can be slow) is deducted.
        let passed = (ContinuousClock.now - sent).components
        let passedMillis = passed.seconds * 1000 + passed.attoseconds / 1_000_000_000_000_000
        #expect(retryIn >= Int64(minimumSeconds) * 1000 - passedMillis, "\(provider): \(retryIn) ms after \(passedMillis) ms")
        #expect(harness.adaptiveLimit("main", "m") == 8)  // 10 x 0.8
        let second = try await harness.chat(GatewayHarness.hello)
        // The advice is as short as 40 s: on a loaded run it can end before the second request,
        // and then main may serve again. Within it, main must be kept away.
        if ContinuousClock.now - sent < .seconds(minimumSeconds) {
            #expect(second.header("x-tollgate-channel") == "backup")
            #expect(main.served == 1)
        }
    }

    @Test func openAIHeadersTeachTheCeilingOnSuccess() async throws {
        let main = try await MockUpstream { request, respond in
            respond.json(200, #"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
                         headers: [("x-ratelimit-limit-requests", "12"), ("x-ratelimit-remaining-requests", "11"),
                                   ("x-ratelimit-reset-requests", "5s")])
        }
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - { name: main, provider: openai, base_url: "\(main.baseURL)/v1", models: [m] }
        """)
        defer { Task { await harness.stop(); await main.stop() } }
        for _ in 0..<10 { _ = try await harness.chat(GatewayHarness.hello) }
        let health = harness.health("main", "m")
        #expect(health?["adaptive_limit"]?["ceiling"]?.int64Value == 12)
        #expect(health?["adaptive_limit"]?["limit"]?.int64Value == 12)  // 10, +5 capped at 12
        #expect(health?["rate_limit"]?["remaining_requests"]?.int64Value == 11)
    }

    @Test func twoRateLimitsInARowCoolDown() async throws {
        let main = try await ScriptedUpstream.start(.status(429, [("retry-after", "0")], #"{"error":{"message":"slow"}}"#))
        let harness = try await Self.gateway(main)
        defer { Task { await harness.stop(); await main.stop() } }
        _ = try await harness.chat(GatewayHarness.hello)
        #expect(harness.health("main", "m")?["adaptive_limit"]?["phase"]?.stringValue == "Stable")
        _ = try await harness.chat(GatewayHarness.hello)
        #expect(harness.health("main", "m")?["adaptive_limit"]?["phase"]?.stringValue == "Cooldown")
        #expect(harness.adaptiveLimit("main", "m") == 6)  // 10 x 0.8 x 0.8
        main.set(.ok)
        #expect(try await harness.chat(GatewayHarness.hello).status == 200)
        #expect(harness.status("main", "m") == "Available")
    }

    @Test func theAdaptiveLimitCapsConcurrencyAndExcessGoesElsewhere() async throws {
        let main = try await ScriptedUpstream.start(.hang)
        let backup = try await ScriptedUpstream.start()
        // An hour's response timeout: on a loaded run a minute passed before the third request,
        // the held requests timed out and gave their slots back.
        let harness = try await Self.gateway(main, backup: backup, health: "probes: false, adaptive_start: 2",
                                             extra: "upstream: { response_timeout: 1h }")
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        // Two requests hang on main and hold its two slots.
        let held = (0..<2).map { _ in Task { try await harness.chat(GatewayHarness.hello) } }
        let filled = await GatewayHarness.eventually { main.served == 2 }
        #expect(filled)
        #expect(harness.health("main", "m")?["adaptive_limit"]?["in_flight"]?.int64Value == 2)
        let third = try await harness.chat(GatewayHarness.hello)
        #expect(third.header("x-tollgate-channel") == "backup")
        #expect(main.served == 2)
        held.forEach { $0.cancel() }
    }

    /// With `auto_switch`, a successor the channel lists is applied at once.
    @Test func aDeprecatedModelSwitchesToItsSuccessorAndIsKept() async throws {
        let main = try await MockUpstream { request, respond in
            if request.json?["model"]?.stringValue == "old-model" {
                respond.json(404, #"{"error":{"message":"The model `old-model` has been deprecated, please use 'new-model' instead.","code":"model_not_found"}}"#)
            } else {
                ScriptedUpstream.answerOK(request, respond)
            }
        }
        let harness = try await GatewayHarness.start("""
        health: { probes: false, auto_switch: true }
        channels:
          - { name: main, provider: openai, base_url: "\(main.baseURL)/v1", models: [old-model, new-model] }
        """)
        defer { Task { await harness.stop(); await main.stop() } }
        let first = try await harness.chat(#"{"model":"old-model","messages":[]}"#)
        #expect(first.status == 404)
        #expect(harness.health("main", "old-model")?["replaced_by"]?.stringValue == "new-model")
        let second = try await harness.chat(#"{"model":"old-model","messages":[]}"#)
        #expect(second.status == 200)
        #expect(main.requests.last?.json?["model"]?.stringValue == "new-model")
        let stored = await GatewayHarness.eventually { (try? await harness.gateway.storage.channelOverrides())?.count == 1 }
        #expect(stored)
        let override = try await harness.gateway.storage.channelOverrides().first
        #expect(override?.channel == "main" && override?.model == "old-model" && override?.value == "new-model")
    }
}
