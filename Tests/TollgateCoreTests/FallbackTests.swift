import Foundation
import Testing
@testable import TollgateCore

/// Fallbacks across models: when every channel of a model fails with a retryable failure, the
/// next model in `fallbacks` serves; the answer names it, the bill is its, the ledger keeps the
/// model asked for. A failure caused by the request never falls back.
@Suite struct FallbackTests {
    static func config(_ big: ScriptedUpstream, _ small: ScriptedUpstream) -> String {
        """
        health: { probes: false }
        routing: { retries: 1 }
        fallbacks: { gpt-4o: [gpt-4o-mini] }
        channels:
          - { name: big, provider: openai, base_url: "\(big.baseURL)/v1", models: [gpt-4o] }
          - { name: small, provider: openai, base_url: "\(small.baseURL)/v1", models: [gpt-4o-mini] }
        """
    }
    static let ask = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

    @Test func aModelWhoseChannelsAnswer500FallsBackAndIsBilledAsTheModelThatServed() async throws {
        let big = try await ScriptedUpstream.start(.status(500, [], #"{"error":{"message":"down"}}"#))
        let small = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.config(big, small))
        defer { Task { await harness.stop(); await big.stop(); await small.stop() } }

        let response = try await harness.chat(Self.ask)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("x-tollgate-model") == "gpt-4o-mini" && response.header("x-tollgate-channel") == "small")
        #expect(big.served == 1 && small.served == 1)
        #expect(small.mock.requests.last?.json?["model"]?.stringValue == "gpt-4o-mini", "the body names the model that serves")
        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.model == "gpt-4o-mini" && record.fallbackFrom == "gpt-4o" && record.channel == "small")
        #expect(record.bill.priceName == "gpt-4o-mini")

        // Streams too; and while `big` is down its breaker keeps counting, the fallback still serves.
        let stream = try await harness.chat(#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(stream.status == 200 && stream.text.contains("data: [DONE]"))
        #expect(stream.header("x-tollgate-model") == "gpt-4o-mini")
    }

    @Test func aRequestErrorIsNotAReasonToFallBack() async throws {
        let big = try await ScriptedUpstream.start(.status(400, [], #"{"error":{"message":"bad 'temperature'","type":"invalid_request_error"}}"#))
        let small = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.config(big, small))
        defer { Task { await harness.stop(); await big.stop(); await small.stop() } }
        let response = try await harness.chat(Self.ask)
        #expect(response.status == 400 && small.served == 0)
        #expect(response.header("x-tollgate-model") == "gpt-4o")
    }

    @Test func aKeysOwnFallbacksWinAndAKeyNeverFallsBackToAModelItMayNotUse() async throws {
        let big = try await ScriptedUpstream.start(.status(503, [], #"{"error":{"message":"overloaded"}}"#))
        let small = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.config(big, small) + "\n  - { name: other, provider: mock, models: [mock-echo] }",
                                                     extraKeys: """
              - { name: own, key: sk-own-fallbacks-1, fallbacks: { gpt-4o: [mock-echo] } }
              - { name: narrow, key: sk-narrow-models-1, models: [gpt-4o] }
            """)
        defer { Task { await harness.stop(); await big.stop(); await small.stop() } }
        let own = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-own-fallbacks-1", json: Self.ask)
        #expect(own.status == 200 && own.header("x-tollgate-model") == "mock-echo")
        let narrow = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-narrow-models-1", json: Self.ask)
        #expect(narrow.status == 503 && small.served == 0, "\(narrow.status) \(narrow.text)")
    }

    @Test func fallbackListsAreChecked() {
        for (yaml, message) in [("fallbacks: { a: [] }", "must list other models"), ("fallbacks: { a: [a] }", "must list other models"),
                                ("fallbacks: { a: [b, b] }", "must list other models"), ("fallbacks: [a]", "mapping")] {
            do {
                _ = try ConfigLoader.parse(yaml, file: "f.yaml")
                Issue.record("accepted \(yaml)")
            } catch let error as ConfigError {
                #expect(error.description.contains(message) && error.description.hasPrefix("f.yaml:1:"), "\(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }
}

/// `context_window_fallbacks`: the provider's context-length error moves the request to a model
/// with a larger window; a server error does not use that list, and other 400s stay the client's.
@Suite struct ContextWindowFallbackTests {
    static let tooLong = #"{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#

    static func config(_ small: ScriptedUpstream, _ big: ScriptedUpstream) -> String {
        """
        health: { probes: false }
        context_window_fallbacks: { gpt-4o-mini: [gpt-4o] }
        channels:
          - { name: small, provider: openai, base_url: "\(small.baseURL)/v1", models: [gpt-4o-mini] }
          - { name: big, provider: openai, base_url: "\(big.baseURL)/v1", models: [gpt-4o] }
        """
    }
    static let ask = #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"long"}]}"#

    @Test func aContextLengthErrorMovesToTheLargerModel() async throws {
        let small = try await ScriptedUpstream.start(.status(400, [], Self.tooLong))
        let big = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.config(small, big))
        defer { Task { await harness.stop(); await small.stop(); await big.stop() } }
        let response = try await harness.chat(Self.ask)
        #expect(response.status == 200 && response.header("x-tollgate-model") == "gpt-4o")
        #expect(big.mock.requests.last?.json?["model"]?.stringValue == "gpt-4o")
        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.model == "gpt-4o" && record.fallbackFrom == "gpt-4o-mini")
        #expect(harness.status("small", "gpt-4o-mini") == "Available", "a request error says nothing about the channel")
    }

    @Test func otherFailuresDoNotUseTheContextList() async throws {
        let small = try await ScriptedUpstream.start(.status(400, [], #"{"error":{"message":"bad 'temperature'","type":"invalid_request_error"}}"#))
        let big = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start(Self.config(small, big))
        defer { Task { await harness.stop(); await small.stop(); await big.stop() } }
        #expect(try await harness.chat(Self.ask).status == 400)
        small.set(.status(500, [], #"{"error":{"message":"down"}}"#))
        #expect(try await harness.chat(Self.ask).status == 500)
        #expect(big.served == 0)
    }

    @Test func contextErrorsAreToldFromOtherRequestErrors() {
        func check(_ status: Int, _ body: String) -> Bool { UpstreamErrorInfo.isContextWindowError(status: status, body: Array(body.utf8)) }
        #expect(check(400, Self.tooLong))
        // Anthropic's and Google's wordings are their plugins' to read (AnthropicAnswersTests, GoogleAnswersTests).
        #expect(!check(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#))
        #expect(!check(400, #"{"error":{"message":"bad 'temperature'"}}"#))
        #expect(!check(500, Self.tooLong))
        #expect(!check(400, "not json"))
    }
}
