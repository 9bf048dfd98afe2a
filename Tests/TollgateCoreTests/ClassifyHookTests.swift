import Foundation
import Logging
import Testing
@testable import TollgateCore

/// ABI 1.4: a plugin's `on_classify_response` decides how health reads its provider's answers,
/// and its `provider_info_json` carries what the core used to know about providers. The C fixture
/// (minimal_adaptor.c, built with -DCLASSIFY) reads its verdict from the upstream body.
@Suite struct ClassifyHookTests {
    static let chatAnswer = #"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":"# + ScriptedUpstream.usage + "}"
    static let info = #"{\"fx\":{\"price_prefixes\":[\"fxprices\"],\"forward_headers\":[\"x-fx-beta\"]}}"#

    /// A gateway whose `main` channel is the fixture plugin, with an openai `backup`.
    static func gateway(_ main: ScriptedUpstream, backup: ScriptedUpstream, defines: [String]) async throws -> (GatewayHarness, String) {
        let dir = try FixturePlugins.temporaryDirectory()
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "fx.so", defines: [#"PROVIDER_ID="fx""#] + defines)
        let harness = try await GatewayHarness.start("""
        health: { probes: false, breaker_failures: 1, breaker_cooldown: 1h }
        channels:
          - { name: main, provider: fx, base_url: "\(main.baseURL)/v1", models: [m, m2], priority: 0 }
          - { name: backup, provider: openai, base_url: "\(backup.baseURL)/v1", models: [m], priority: 1 }
        """, pluginsDirectory: dir)
        return (harness, dir)
    }

    /// Sends one chat for `m` to a `main` answering `status` with `body`; the health of `main`/`m` after.
    func outcome(_ status: Int, _ body: String, defines: [String] = ["CLASSIFY", "PROVIDER_INFO=\"\(Self.info)\""],
                 headers: [(String, String)] = []) async throws -> (health: JSONValue?, backupServed: Int) {
        let main = try await ScriptedUpstream.start(.status(status, headers, body))
        let backup = try await ScriptedUpstream.start()
        let (harness, _) = try await Self.gateway(main, backup: backup, defines: defines)
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        _ = try await harness.chat(GatewayHarness.hello)
        return (harness.health("main", "m"), backup.served)
    }

    @Test func thePluginsVerdictWinsOverTheStatus() async throws {
        // A 400 the plugin reads as a rate limit with its own advice: the request moves on.
        let (health, served) = try await outcome(400, "slow down verdict=3 retry=7200000;")
        #expect(health?["status"]?.stringValue == "RateLimited" && served == 1)
        #expect((health?["retry_in_ms"]?.int64Value ?? 0) > 3_600_000)
    }

    @Test func anUnknownVerdictFallsBackToTheOpenAIShape() async throws {
        let (health, _) = try await outcome(404, #"{"error":{"message":"The model `m` does not exist","code":"model_not_found"},"x":"verdict=99"}"#)
        #expect(health?["status"]?.stringValue == "ModelNotFound")
    }

    @Test func aDeclinedAnswerFallsBackToTheOpenAIShape() async throws {
        let (health, served) = try await outcome(500, "decline verdict=5")
        #expect(health?["status"]?.stringValue == "TemporarilyDown" && served == 1)
    }

    @Test func anOverwrittenStructSizeIsIgnored() async throws {
        let (health, served) = try await outcome(503, "busy verdict=4 badsize")
        #expect(health?["status"]?.stringValue == "TemporarilyDown" && served == 1)
    }

    @Test func oversizedTextsAreCutAndNegativeCountsIgnored() async throws {
        let long = String(repeating: "x", count: 20_000)
        let (health, _) = try await outcome(500, "verdict=10 negative " + long)
        let error = try #require(health?["last_error"]?.stringValue)
        #expect(error.utf8.count <= PluginVerdict.maxText + 64, "\(error.utf8.count) bytes")
    }

    /// A retirement only when the plugin's message names the channel's own model.
    @Test func aDeprecationMustNameTheChannelsModel() async throws {
        let (named, _) = try await outcome(404, "model m has been retired verdict=9 successor=m2;")
        #expect(named?["deprecation"] != nil && named?["proposed_successor"]?.stringValue == "m2")
        let (foreign, _) = try await outcome(400, "model other has been retired verdict=9 successor=m2;")
        #expect(foreign?["deprecation"] == nil && foreign?["proposed_successor"] == nil)
        #expect(foreign?["status"]?.stringValue == "Available")
    }

    @Test func successHeadsReportThePluginsLimits() async throws {
        let main = try await ScriptedUpstream.start()
        let backup = try await ScriptedUpstream.start()
        let (harness, _) = try await Self.gateway(main, backup: backup, defines: ["CLASSIFY"])
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        #expect(try await harness.chat(GatewayHarness.hello).status == 200)
        #expect(harness.health("main", "m")?["rate_limit"]?["limit_requests"]?.int64Value == 77)
    }

    /// A plugin that declares which headers it reads on success is asked about a 2xx answer only
    /// when one is there (the fixture answers 77 for any success it is asked about).
    @Test func successHeadsAreReadOnlyWhenTheDeclaredHeadersArePresent() async throws {
        let info = #"{\"fx\":{\"success_header_prefixes\":[\"x-fx-limit-\"]}}"#
        for (headers, learned) in [([("X-Fx-Limit-Requests", "5")], Int64?(77)), ([("x-other", "1")], nil)] {
            let main = try await ScriptedUpstream.start(.status(200, headers, Self.chatAnswer))
            let backup = try await ScriptedUpstream.start()
            let (harness, _) = try await Self.gateway(main, backup: backup, defines: ["CLASSIFY", "PROVIDER_INFO=\"\(info)\""])
            defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
            #expect(try await harness.chat(GatewayHarness.hello).status == 200)
            #expect(harness.health("main", "m")?["rate_limit"]?["limit_requests"]?.int64Value == learned, "\(headers)")
        }
        #expect("Anthropic-RateLimit-Requests-Limit".hasPrefixIgnoringASCIICase("anthropic-ratelimit-"))
        #expect(!"anthropic-rate".hasPrefixIgnoringASCIICase("anthropic-ratelimit-"))
    }

    /// A plugin built for ABI 1.3 (smaller descriptor and hook table) loads and gets the
    /// OpenAI-shaped reading and today's forwarded header.
    @Test func anABI13PluginLoadsWithTheGenericReading() async throws {
        let abi13 = ["ABI_MINOR=3", "DESCRIPTOR_SIZE=offsetof(tollgate_type_plugin_descriptor,provider_info_json)",
                     "HOOKS_SIZE=offsetof(tollgate_type_adaptor_hooks,on_classify_response)", "CLASSIFY"]
        let (health, served) = try await outcome(429, #"{"error":{"message":"slow","code":"rate_limit_exceeded"},"x":"verdict=5"}"#,
                                                 defines: abi13, headers: [("retry-after", "7200")])
        #expect(health?["status"]?.stringValue == "RateLimited" && served == 1, "the 1.4 hook past its table is not called")
        #expect((health?["retry_in_ms"]?.int64Value ?? 0) > 3_600_000)
    }

    @Test func declaredForwardHeadersAndPricePrefixesAreUsed() async throws {
        let main = try await ScriptedUpstream.start()
        let backup = try await ScriptedUpstream.start()
        let (harness, _) = try await Self.gateway(main, backup: backup, defines: ["PROVIDER_INFO=\"\(Self.info)\""])
        defer { Task { await harness.stop(); await main.stop(); await backup.stop() } }
        let channel = try #require(harness.gateway.runtime.snapshot.router.channels.first { $0.name == "main" })
        #expect(channel.pricePrefixes == ["fxprices"])
        guard case .plugin(let plugin) = channel.backend else { Issue.record("not a plugin channel"); return }
        #expect(plugin.adaptor.forwardHeaders == ["x-fx-beta"])
    }

    /// Malformed descriptor data refuses the plugin, naming what is wrong.
    @Test(arguments: [
        (#"not json"#, "not a JSON object"),
        (#"{\"other\":{}}"#, "'other' is not one of the plugin's provider ids"),
        (#"{\"fx\":{\"forward_headers\":[\"Authorization\"]}}"#, "'authorization' may not be forwarded"),
        (#"{\"fx\":{\"forward_headers\":[\"a b\"]}}"#, "'a b' may not be forwarded"),
        (#"{\"fx\":{\"price_prefixes\":\"anthropic\"}}"#, "fx.price_prefixes is not a list"),
        (#"{\"fx\":{\"price_prefixes\":[1]}}"#, "fx.price_prefixes holds a non-name"),
        (#"{\"fx\":{\"success_header_prefixes\":\"anthropic-\"}}"#, "fx.success_header_prefixes is not a list"),
        (#"{\"fx\":{\"environment\":{\"credentials\":{\"api_key\":[\"K\"]}}}}"#, "fx.environment.require is empty"),
        (#"{\"fx\":{\"environment\":{\"credentials\":{\"api_key\":[\"K\"]},\"require\":[\"x\"]}}}"#, "require names unknown 'x'"),
        (#"{\"fx\":{\"environment\":{\"credentials\":{\"api_key\":[\"K\"]},\"require\":[\"api_key\"],\"priority\":-1}}}"#, "priority is not"),
    ] as [(String, String)])
    func malformedProviderInfoRefusesThePlugin(json: String, reason: String) throws {
        let dir = try FixturePlugins.temporaryDirectory()
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "fx.so", defines: [#"PROVIDER_ID="fx""#, "PROVIDER_INFO=\"\(json)\""])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let registry = PluginRegistry()
        let report = PluginLoader(logger: logger).load(path: dir + "/fx.so", into: registry)
        guard case .refused(let why) = report.status else { Issue.record("loaded: \(report.line)"); return }
        #expect(why.hasPrefix("provider_info_json: ") && why.contains(reason), "\(why)")
        #expect(registry.providerIDs.isEmpty)
    }

    @Test func overlongProviderInfoRefusesThePlugin() throws {
        let dir = try FixturePlugins.temporaryDirectory()
        let long = #"{\"fx\":{\"price_prefixes\":[\""# + String(repeating: "p", count: 70_000) + #"\"]}}"#
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "fx.so", defines: [#"PROVIDER_ID="fx""#, "PROVIDER_INFO=\"\(long)\""])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let report = PluginLoader(logger: logger).load(path: dir + "/fx.so", into: PluginRegistry())
        #expect(report.status == .refused(reason: "provider_info_json is longer than 65536 bytes"))
    }
}
