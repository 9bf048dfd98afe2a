import Foundation
import Testing
@testable import TollgateCore

/// The Claude plugin (`libtollgate-claude.so`, built by the package) loaded from the build folder
/// like any plugin: an OpenAI client talks to the gateway, the gateway to a mock speaking
/// Anthropic's Messages API.
@Suite struct ClaudeUpstreamTests {
    static let apiKey = "sk-ant-mock-key"

    /// Anthropic's stream for a text answer, cut at awkward places (inside an event, inside a
    /// JSON string, between CR and LF is not needed: Anthropic uses LF).
    static let textStream: [String] = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,\"usage\":{\"input_tokens\":100,\"cache_read_input_tokens\":50,\"cache_creation_input_tokens\":25,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel",
        "lo\"}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" there\"}}\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":10}}\n",
        "\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ]

    static let toolStream: [String] = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s2\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":40,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"get_weather\",\"input\":{}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":15}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ]

    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            guard request.uri == "/v1/messages" else { return respond.json(404, #"{"type":"error","error":{"type":"not_found_error","message":"no route"}}"#) }
            let body = request.json
            let hasTools = body?["tools"] != nil
            switch (body?["stream"]?.boolValue == true, hasTools) {
            case _ where body?["model"]?.stringValue == "claude-busy":
                respond.json(429, #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}"#,
                             headers: [("retry-after", "7")])
            case (true, _) where body?["model"]?.stringValue == "claude-flaky":
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_f\",\"usage\":{\"input_tokens\":8,\"output_tokens\":1}}}\n\n")
                respond.chunk("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
                respond.end()
            case (true, let tools):
                respond.head(200, [("content-type", "text/event-stream"), ("request-id", "req_stream")])
                for part in tools ? toolStream : textStream { respond.chunk(part) }
                respond.end()
            case (false, true):
                respond.json(200, #"{"id":"msg_t1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":15}}"#)
            case (false, false):
                respond.json(200, #"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":10,"cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":20}}}"#)
            }
        }
    }

    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        channels:
          - name: anthropic
            provider: claude
            base_url: "\(upstream.baseURL)"
            credentials: { api_key: \(apiKey) }
            options: { anthropic_version: "2023-06-01" }
            models: [claude-sonnet-4-5, claude-busy, claude-flaky]
            model_map: { my-claude: claude-sonnet-4-5 }
        """, pluginsDirectory: BuildProducts.directory)
    }

    /// Sends a chat request with extra client headers.
    static func chat(_ harness: GatewayHarness, _ json: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions",
                                       headers: [("authorization", "Bearer \(GatewayHarness.clientKey)"), ("content-type", "application/json")] + headers,
                                       body: Array(json.utf8))
    }

    /// The JSON payloads of an OpenAI SSE body; `[DONE]` read as the string "[DONE]".
    static func events(_ response: TestResponse) throws -> [JSONValue] {
        var parser = SSEParser()
        var events: [JSONValue] = []
        try parser.feed(response.body) { event in
            events.append(event.isDone ? .string("[DONE]") : (try? JSONParser.parse(event.data)) ?? .null)
        }
        return events
    }

    @Test func pluginLoads() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(harness.gateway.registry.reports.contains { $0.status == .loaded(kind: .adaptor, name: "claude", version: "1.0.0", providers: ["claude"]) })
    }

    @Test func convertsAChatBothWaysWithCacheUsage() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await Self.chat(harness, #"{"model":"my-claude","temperature":0.2,"stop":["END"],"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}"#,
                                           headers: [("anthropic-beta", "extended-cache-ttl-2025-04-11"), ("anthropic-version", "2099-01-01")])
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("x-tollgate-channel") == "anthropic")
        #expect(response.json == (try JSONParser.parse(#"""
        {"id":"msg_01","object":"chat.completion","created":\#(response.json?["created"]?.int64Value ?? -1),"model":"my-claude",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":175,"completion_tokens":10,"total_tokens":185,"prompt_tokens_details":{"cached_tokens":50,"cache_creation_tokens":25}}}
        """#)))
        #expect((response.json?["created"]?.int64Value ?? 0) > 1_600_000_000, "created comes from the host's clock")

        let sent = try #require(upstream.requests.last)
        #expect(sent.method == "POST" && sent.uri == "/v1/messages")
        #expect(sent.header("x-api-key") == Self.apiKey)
        #expect(sent.header("anthropic-version") == "2023-06-01", "the channel's version, not the client's")
        #expect(sent.header("anthropic-beta") == "extended-cache-ttl-2025-04-11")
        #expect(sent.header("authorization") == nil)
        #expect(sent.json == (try JSONParser.parse(#"{"model":"claude-sonnet-4-5","max_tokens":64000,"system":"be brief","messages":[{"role":"user","content":"hello"}],"stop_sequences":["END"],"temperature":0.2}"#)))

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        var expected = TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25)
        expected.cacheCreation1h = 20
        #expect(record.usage == expected)
        #expect(record.channel == "anthropic" && record.status == 200)
    }

    /// A plain chat (text messages, sampling, limits) is converted in one pass: through the
    /// gateway the upstream gets exactly the bytes the tree conversion writes (messages of one
    /// role merged, the system message lifted, `user` as metadata), under the plugin's headers.
    @Test func aPlainChatGoesUpstreamAsTheTreeWritesIt() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let request = #"{"model":"my-claude","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},{"role":"user","content":"again \u00e9"}],"top_p":0.9,"max_tokens":50,"user":"u1","seed":3}"#
        let response = try await Self.chat(harness, request)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello there")
        let sent = try #require(upstream.requests.last)
        let written = #"{"model":"claude-sonnet-4-5","max_tokens":50,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"again é"}]}],"top_p":0.9,"metadata":{"user_id":"u1"}}"#
        #expect(sent.body == Array(written.utf8), "the tree's bytes (PlainChatTests compares the two conversions)")
        #expect(sent.header("x-api-key") == Self.apiKey && sent.header("anthropic-version") == "2023-06-01")
        #expect(sent.headers.filter { $0.0.lowercased() == "content-length" }.map(\.1) == [String(written.utf8.count)])
    }

    @Test func convertsToolCallsAndMergedToolResults() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let tools = #""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#

        let first = try await Self.chat(harness, #"{"model":"claude-sonnet-4-5","max_tokens":300,"tool_choice":"auto","parallel_tool_calls":false,\#(tools),"messages":[{"role":"user","content":"weather in Paris?"}]}"#)
        #expect(first.status == 200, "\(first.text)")
        let message = first.json?["choices"]?[0]?["message"]
        #expect(message?["content"]?.stringValue == "Checking.")
        #expect(message?["tool_calls"] == (try JSONParser.parse(#"[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]"#)))
        #expect(first.json?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        let sentFirst = upstream.requests.last?.json
        #expect(sentFirst?["tools"] == (try JSONParser.parse(#"[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]"#)))
        #expect(sentFirst?["tool_choice"] == (try JSONParser.parse(#"{"type":"auto","disable_parallel_tool_use":true}"#)))
        #expect(sentFirst?["max_tokens"]?.int64Value == 300)

        let second = try await Self.chat(harness, #"""
        {"model":"claude-sonnet-4-5",\#(tools),"messages":[{"role":"user","content":"weather in Paris and Rome?"},
         {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                                                            {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
         {"role":"tool","tool_call_id":"toolu_1","content":"18C"},{"role":"tool","tool_call_id":"toolu_2","content":"21C"}]}
        """#)
        #expect(second.status == 200, "\(second.text)")
        #expect(upstream.requests.last?.json?["messages"] == (try JSONParser.parse(#"""
        [{"role":"user","content":"weather in Paris and Rome?"},
         {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
                                         {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
         {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
                                   {"type":"tool_result","tool_use_id":"toolu_2","content":"21C"}]}]
        """#)))
        let record = await harness.records.waitFor(second.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 40, completion: 15))

        let invalid = try await Self.chat(harness, #"{"model":"claude-sonnet-4-5","messages":[{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}"#)
        #expect(invalid.status == 400)
        #expect(invalid.json?["error"]?["message"]?.stringValue?.hasPrefix("claude: messages[0].tool_calls[0].function.arguments") == true)
    }

    @Test func convertsAStream() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await Self.chat(harness, #"{"model":"my-claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/event-stream")
        let events = try Self.events(response)
        #expect(events.last == .string("[DONE]"))
        let chunks = events.dropLast()
        #expect(chunks.allSatisfy { $0["id"]?.stringValue == "msg_s1" && $0["object"]?.stringValue == "chat.completion.chunk" && $0["model"]?.stringValue == "my-claude" })
        #expect(chunks.first?["choices"]?[0]?["delta"] == (try JSONParser.parse(#"{"role":"assistant","content":""}"#)))
        #expect(chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Hello there")
        #expect(chunks.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(chunks.last?["choices"] == .array([]))
        #expect(chunks.last?["usage"] == (try JSONParser.parse(#"{"prompt_tokens":175,"completion_tokens":10,"total_tokens":185,"prompt_tokens_details":{"cached_tokens":50,"cache_creation_tokens":25}}"#)))

        let sent = upstream.requests.last?.json
        #expect(sent?["stream"]?.boolValue == true)
        #expect(sent?["stream_options"] == nil)
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))
    }

    @Test func convertsAStreamedToolCall() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await Self.chat(harness, #"{"model":"claude-sonnet-4-5","stream":true,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"messages":[{"role":"user","content":"weather?"}]}"#)
        #expect(response.status == 200)
        let events = try Self.events(response)
        #expect(events.last == .string("[DONE]"))
        #expect(!events.contains { $0["usage"] != nil }, "no usage chunk unless the client asked")
        let calls = events.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
        #expect(calls.first == (try JSONParser.parse(#"{"index":0,"id":"toolu_9","type":"function","function":{"name":"get_weather","arguments":""}}"#)))
        #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city": "Paris"}"#)
        #expect(calls.allSatisfy { $0["index"]?.int64Value == 0 })
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls" })
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 40, completion: 15))
    }

    @Test func upstreamErrorsReachTheClientInOpenAIStyle() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let busy = try await Self.chat(harness, #"{"model":"claude-busy","messages":[{"role":"user","content":"x"}]}"#)
        #expect(busy.status == 429)
        #expect(busy.json?["error"]?["type"]?.stringValue == "rate_limit_error")
        #expect(busy.json?["error"]?["message"]?.stringValue == "Number of requests has exceeded your rate limit")
        let busyStream = try await Self.chat(harness, #"{"model":"claude-busy","stream":true,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(busyStream.status == 429, "an error before the stream starts is a complete error answer")

        let flaky = try await Self.chat(harness, #"{"model":"claude-flaky","stream":true,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(flaky.status == 200)
        let events = try Self.events(flaky)
        #expect(events.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
        #expect(events.last?["error"]?["message"]?.stringValue?.contains("overloaded_error: Overloaded") == true)
        #expect(events.filter { $0["error"] != nil }.count == 1, "one error event, the core's")
        #expect(!events.contains(.string("[DONE]")))
        let record = await harness.records.waitFor(flaky.header("x-request-id"))
        #expect(record?.status == 502)
        #expect(record?.usage.prompt == 8)
    }

    // MARK: Anthropic clients: passthrough

    /// Sends an Anthropic Messages request to `/v1/messages`, authenticated the way the anthropic
    /// SDK does (`x-api-key`, its own newer `anthropic-version`; a beta header in any case).
    static func messages(_ harness: GatewayHarness, _ json: String) async throws -> TestResponse {
        try await harness.client.fetch(port: harness.port, path: "/v1/messages",
                                       headers: [("x-api-key", GatewayHarness.clientKey), ("anthropic-version", "2099-01-01"),
                                                 ("Anthropic-Beta", "tools-2024-05-16"), ("content-type", "application/json")],
                                       body: Array(json.utf8))
    }

    @Test func anthropicClientsPassThroughUntouched() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let request = #"{"model":"my-claude","max_tokens":50,"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":"hello"}]}"#
        let response = try await Self.messages(harness, request)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":10,"cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":20}}}"#)
        let sent = try #require(upstream.requests.last)
        #expect(sent.body == Array(request.replacingOccurrences(of: "my-claude", with: "claude-sonnet-4-5").utf8), "only the model changes")
        #expect(sent.header("x-api-key") == Self.apiKey, "the channel's key, never the client's")
        #expect(sent.header("anthropic-version") == "2023-06-01")
        #expect(sent.header("anthropic-beta") == "tools-2024-05-16")
        let record = await harness.records.waitFor(response.header("x-request-id"))
        var expected = TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25)
        expected.cacheCreation1h = 20
        #expect(record?.usage == expected)

        let streamed = try await Self.messages(harness, #"{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(streamed.status == 200)
        #expect(streamed.header("content-type")?.hasPrefix("text/event-stream") == true)
        #expect(streamed.text == Self.textStream.joined(), "the upstream's events, byte for byte")
        let streamRecord = await harness.records.waitFor(streamed.header("x-request-id"))
        #expect(streamRecord?.usage == TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))

        let busy = try await Self.messages(harness, #"{"model":"claude-busy","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(busy.status == 429)
        #expect(busy.text == #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}"#)
    }

    @Test func anAnthropicStreamErrorIsWrittenOnceByTheCore() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let flaky = try await Self.messages(harness, #"{"model":"claude-flaky","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(flaky.status == 200)
        #expect(flaky.text.hasPrefix("event: message_start\n"))
        #expect(flaky.text.components(separatedBy: "event: error").count == 2, "one error event: \(flaky.text)")
        #expect(flaky.text.contains("Overloaded"))
        let record = await harness.records.waitFor(flaky.header("x-request-id"))
        #expect(record?.status == 502)
        #expect(record?.usage.prompt == 8)
    }
}
