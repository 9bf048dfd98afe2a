import Foundation
import Testing
@testable import TollgateCore

/// Provider shapes the core no longer reads, through the gateway: each plugin channel talks to a
/// mock upstream in its provider's wire format and its `on_classify_response` tells health.
@Suite struct ProviderAnswersTests {
    /// A retirement in the provider's structured shape naming the channel's model proposes the
    /// successor; the same words without the structure (a client's echo) change nothing.
    @Test(arguments: [
        ("claude", 404, [], #"{"type":"error","error":{"type":"not_found_error","message":"model: m has been retired, use m2"}}"#, "m2"),
        ("gemini", 404, [], #"{"error":{"code":404,"message":"models/m is no longer available, use m2 instead","status":"NOT_FOUND"}}"#, "m2"),
        ("bedrock", 400, [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/")],
         #"{"message":"This model version has reached the end of its life. Please refer to the AWS documentation for more details."}"#, "none"),
        ("claude", 400, [], #"{"type":"error","error":{"type":"invalid_request_error","message":"extra: m has been retired, use m2"}}"#, nil),
        ("gemini", 400, [], #"{"error":{"code":400,"message":"Invalid payload: m is no longer available, use m2","status":"INVALID_ARGUMENT"}}"#, nil),
        ("bedrock", 400, [("x-amzn-ErrorType", "ValidationException")],
         #"{"message":"Malformed input request: [m has reached the end of its life, use m2] is not permitted"}"#, nil),
    ] as [(String, Int, [(String, String)], String, String?)])
    func retirementsComeFromThePlugin(provider: String, status: Int, headers: [(String, String)], body: String,
                                      successor: String?) async throws {
        let main = try await ScriptedUpstream.start(.status(status, headers, body))
        let harness = try await GatewayHarness.start("""
        health: { probes: false, breaker_cooldown: 1h }
        channels:
          - \(ChannelStateTests.mainChannel(provider, main.baseURL).replacingOccurrences(of: "models: [m]", with: "models: [m, m2]"))
        """, pluginsDirectory: BuildProducts.directory)
        defer { Task { await harness.stop(); await main.stop() } }
        _ = try await harness.chat(GatewayHarness.hello)
        let health = harness.health("main", "m")
        switch successor {
        case nil:
            #expect(health?["deprecation"] == nil && health?["proposed_successor"] == nil, "\(provider): \(String(describing: health))")
            #expect(health?["status"]?.stringValue == "Available")
        case "none"?:
            #expect(health?["deprecation"] != nil && health?["proposed_successor"] == nil, "\(provider)")
        case let name?:
            #expect(health?["deprecation"] != nil && health?["proposed_successor"]?.stringValue == name, "\(provider)")
        }
    }

    /// Anthropic's "prompt is too long" moves the request to the larger model, read by the plugin.
    @Test func aClaudeContextErrorMovesToTheLargerModel() async throws {
        let small = try await ScriptedUpstream.start(.status(400, [],
            #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#))
        let big = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        context_window_fallbacks: { m: [big-m] }
        channels:
          - \(ChannelStateTests.mainChannel("claude", small.baseURL))
          - { name: big, provider: openai, base_url: "\(big.baseURL)/v1", models: [big-m] }
        """, pluginsDirectory: BuildProducts.directory)
        defer { Task { await harness.stop(); await small.stop(); await big.stop() } }
        let response = try await harness.chat(GatewayHarness.hello)
        #expect(response.status == 200 && response.header("x-tollgate-model") == "big-m")
        #expect(harness.status("main", "m") == "Available", "a request error says nothing about the channel")
    }

    /// Each plugin names its LiteLLM price prefixes and forwarded headers; the core names none.
    @Test func pluginsDeclareTheirPricePrefixesAndHeaders() async throws {
        let main = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - \(ChannelStateTests.mainChannel("bedrock", main.baseURL))
          - { name: vx, provider: claude, base_url: "\(main.baseURL)", credentials: { api_key: k }, models: [c] }
        """, pluginsDirectory: BuildProducts.directory)
        defer { Task { await harness.stop(); await main.stop() } }
        let channels = harness.gateway.runtime.snapshot.router.channels
        #expect(channels.first { $0.name == "main" }?.pricePrefixes == ["bedrock", "bedrock_converse"])
        #expect(channels.first { $0.name == "vx" }?.pricePrefixes == ["anthropic"])
        guard case .plugin(let claude)? = channels.first(where: { $0.name == "vx" })?.backend else { Issue.record("no claude"); return }
        #expect(claude.adaptor.forwardHeaders == ["anthropic-beta"])
    }
}
