import Foundation
import Testing
@testable import TollgateCore

/// The shipped `cohere` template: Cohere's own v2 chat API (not OpenAI-compatible), converted
/// both ways by the mapping engine, streams included, against a mock of Cohere's wire format.
@Suite struct CohereTemplateTests {
    static let key = "co-channel-key-123"
    /// Cohere v2 chat's request fields; anything else is refused as Cohere does.
    static let fields: Set<String> = ["model", "messages", "stream", "tools", "strict_tools", "documents", "citation_options",
                                      "response_format", "safety_mode", "max_tokens", "stop_sequences", "temperature", "seed",
                                      "frequency_penalty", "presence_penalty", "k", "p", "logprobs", "tool_choice", "thinking"]
    static let usage = #"{"billed_units":{"input_tokens":5,"output_tokens":4},"tokens":{"input_tokens":71,"output_tokens":4}}"#

    static func mock() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            guard request.uri == "/v2/chat", request.header("authorization") == "Bearer \(key)" else {
                return respond.json(401, #"{"id":"e1","message":"invalid api token"}"#)
            }
            guard let body = request.json, let members = body.objectValue else {
                return respond.json(400, #"{"id":"e2","message":"invalid request: body is not JSON"}"#)
            }
            if let unknown = members.first(where: { !fields.contains($0.key) }) {
                return respond.json(400, #"{"id":"e3","message":"invalid request: unknown field: parameter '\#(unknown.key)' is not a valid field"}"#)
            }
            let model = body["model"]?.stringValue ?? ""
            if body["stream"]?.boolValue == true {
                respond.head(200, [("content-type", "text/event-stream")])
                // Split mid-event on purpose: the converter must join events across reads.
                respond.chunk("event: message-start\ndata: {\"id\":\"co-stream-1\",\"type\":\"message-start\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}}\n\nevent: content-start\ndata: {\"type\":\"content-start\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}}\n\nevent: content-delta\ndata: {\"type\":\"content-")
                respond.chunk("delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hello\"}}}}\n\n")
                respond.chunk("event: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\" from Cohere\"}}}}\n\n")
                if model == "command-cut" { return respond.end() }
                respond.chunk("event: content-end\ndata: {\"type\":\"content-end\",\"index\":0}\n\n")
                respond.chunk("event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"MAX_TOKENS\",\"usage\":\(usage)}}\n\ndata: [DONE]\n\n")
                respond.end()
            } else if model == "command-empty" {
                respond.json(200, #"{"id":"co-2","finish_reason":"TOOL_CALL","message":{"role":"assistant","content":[],"tool_calls":[]},"usage":\#(usage)}"#)
            } else {
                respond.json(200, #"{"id":"co-1","finish_reason":"COMPLETE","message":{"role":"assistant","content":[{"type":"text","text":"Hello from Cohere"}]},"usage":\#(usage)}"#)
            }
        }
    }

    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        templates: { dir: "\(TemplateSupport.shippedDirectory)" }
        channels:
          - name: cohere-main
            provider: cohere
            base_url: "\(upstream.baseURL)"
            credentials: { api_key: \(key) }
            models: ["command-*"]
            model_map: { command: command-a-03-2025 }
        """)
    }

    @Test func convertsARequestAndItsAnswer() async throws {
        let upstream = try await Self.mock()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"command","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi","name":"ann"}],"top_p":0.9,"stop":["END"],"max_completion_tokens":50,"n":1,"user":"u-1","temperature":0.2}"#)
        #expect(response.status == 200, "\(response.text)")
        let json = try #require(response.json)
        #expect(json["object"]?.stringValue == "chat.completion")
        #expect(json["id"]?.stringValue == "co-1")
        #expect(json["model"]?.stringValue == "command")
        #expect(json["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello from Cohere")
        #expect(json["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(json["usage"]?["prompt_tokens"]?.int64Value == 5 && json["usage"]?["total_tokens"]?.int64Value == 9)

        let sent = try #require(upstream.requests.last?.json)
        #expect(sent["model"]?.stringValue == "command-a-03-2025")
        #expect(sent["p"]?.doubleValue == 0.9 && sent["top_p"] == nil)
        #expect(sent["stop_sequences"] == .array([.string("END")]))
        #expect(sent["max_tokens"]?.int64Value == 50)
        #expect(sent["temperature"]?.doubleValue == 0.2)
        #expect(sent["messages"]?[1]?["name"] == nil && sent["messages"]?[1]?["content"]?.stringValue == "hi")
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 5 && record?.usage.completion == 4)
        #expect(record?.channel == "cohere-main" && record?.status == 200)
    }

    @Test func convertsAStreamWithAndWithoutUsage() async throws {
        let upstream = try await Self.mock()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"command-r","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/event-stream")
        #expect(upstream.requests.last?.json?["stream_options"] == nil)
        let events = try TemplateSupport.events(response.body)
        #expect(events.last == "[DONE]")
        let chunks = events.compactMap { try? JSONParser.parse($0) }
        #expect(chunks.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
        #expect(chunks.allSatisfy { $0["id"]?.stringValue == "co-stream-1" && $0["object"]?.stringValue == "chat.completion.chunk" })
        #expect(try TemplateSupport.streamedText(response.body) == "Hello from Cohere")
        #expect(chunks.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "length" })
        #expect(chunks.last?["choices"] == .array([]))
        #expect(chunks.last?["usage"]?["completion_tokens"]?.int64Value == 4)
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 5 && record?.usage.completion == 4)

        let quiet = try await harness.chat(#"{"model":"command-r","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(!quiet.text.contains("usage"))
        let quietRecord = await harness.records.waitFor(quiet.header("x-request-id"))
        #expect(quietRecord?.usage.prompt == 5 && quietRecord?.usage.completion == 4)
    }

    @Test func anthropicClientsReachCohereThroughTheInternalDialect() async throws {
        let upstream = try await Self.mock()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"command","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#,
                                              path: "/v1/messages")
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["type"]?.stringValue == "message")
        #expect(response.json?["content"]?[0]?["text"]?.stringValue == "Hello from Cohere")
        #expect(response.json?["usage"]?["input_tokens"]?.int64Value == 5)
        #expect(upstream.requests.last?.json?["messages"]?[0]?["role"]?.stringValue == "system")
    }

    @Test func errorsMissingFieldsAndCutStreamsAreReportedPrecisely() async throws {
        let upstream = try await Self.mock()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        // Cohere's own error: its status and message, in OpenAI's error shape.
        let refused = try await harness.chat(#"{"model":"command","messages":[{"role":"user","content":"hi"}],"logit_bias":{},"audio":{}}"#)
        #expect(refused.status == 400)
        #expect(refused.json?["error"]?["message"]?.stringValue == "invalid request: unknown field: parameter 'audio' is not a valid field")
        #expect(refused.json?["error"]?["type"]?.stringValue == "invalid_request_error")

        // A successful answer without the mapped field: 502 naming the path and where it stopped.
        let empty = try await harness.chat(#"{"model":"command-empty","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(empty.status == 502)
        #expect(empty.json?["error"]?["code"]?.stringValue == "template_mapping_error")
        let message = empty.json?["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("template 'cohere'") && message.contains("cohere.json"))
        #expect(message.hasSuffix("the upstream answer has no value at $.message.content[0].text: $.message.content has no element [0] (the array has 0)"))

        // A stream that ends before message-end: an error event, no [DONE], usage so far recorded.
        let cut = try await harness.chat(#"{"model":"command-cut","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        let events = try TemplateSupport.events(cut.body)
        #expect(events.last?.contains("the upstream ended the stream before its final event") == true)
        #expect(!events.contains("[DONE]"))
        #expect(try TemplateSupport.streamedText(cut.body) == "Hello from Cohere")
        let record = await harness.records.waitFor(cut.header("x-request-id"))
        #expect(record?.status == 502)
    }

    @Test func eventMappingsNameTheMissingPath() throws {
        let mapping = EventStreamMapping(typePath: try JSONPath("$.type"), rules: [
            "content-delta": .init(content: try JSONPath("$.delta.message.content.text")),
            "failed": .init(errorMessage: try JSONPath("$.message")),
        ])
        let response = ResponseMapping(content: try JSONPath("$.text"), finishReasons: [:])
        let stream = TemplateStream(mapping: mapping, response: response, model: "m", includeUsage: false)
        let bad = Array("data: {\"type\":\"content-delta\",\"delta\":{\"message\":{}}}\n\n".utf8)
        let (_, error) = bad.withUnsafeBytes { stream.feed($0) }
        #expect(error == "'content-delta' event: no value at $.delta.message.content.text: $.delta.message has no field 'content'")

        let other = TemplateStream(mapping: mapping, response: response, model: "m", includeUsage: false)
        let failed = Array("data: {\"type\":\"failed\",\"message\":\"overloaded\"}\n\n".utf8)
        #expect(failed.withUnsafeBytes { other.feed($0) }.error == "the upstream reported an error mid-stream: overloaded")
        let untyped = TemplateStream(mapping: mapping, response: response, model: "m", includeUsage: false)
        #expect(Array("data: {\"x\":1}\n\n".utf8).withUnsafeBytes { untyped.feed($0) }.error == "an event without its type: no value at $.type: $ has no field 'type'")
    }
}
