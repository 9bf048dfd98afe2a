import Foundation
import Testing
@testable import TollgateCore

/// The end of the upstream's body ends the client's stream in every dialect, with or without
/// `[DONE]`, and when the body was cut inside an event: the stop reason and the usage reach the
/// client and the closing events are written (or, for a cut, an error event closes it).
@Suite struct StreamEndTests {
    enum Ending: String, CaseIterable, Sendable { case done, noDone, cut }

    /// An OpenAI-compatible upstream streaming one text chunk, a finish reason and the usage
    /// chunk (when asked), then ending as `ending` says.
    static func upstream(_ ending: Ending) async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            respond.head(200, [("content-type", "text/event-stream")])
            respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":null}]}"# + "\n\n")
            respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"# + "\n\n")
            if request.json?["stream_options"]?["include_usage"]?.boolValue == true {
                respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5}}"# + "\n\n")
            }
            switch ending {
            case .done: respond.chunk("data: [DONE]\n\n")
            case .noDone: break
            case .cut: respond.chunk(#"data: {"id":"c1","object":"chat.completion.ch"#)
            }
            respond.end()
        }
    }

    /// `options: { responses: chat }` makes Responses requests go through the gateway's
    /// translator instead of passing through to the upstream's own `/responses`.
    static func gateway(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [m], options: { responses: chat } }
        """)
    }

    static func dataLines(_ text: String) -> [JSONValue] {
        text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("data: ") }
            .compactMap { try? JSONParser.parse(Array($0.dropFirst(6).utf8)) }
    }

    /// Streams `body` to `path` through a gateway on an upstream ending as `ending`; checks the
    /// answer with `check` and that the ending was billed from the upstream's usage.
    static func stream(_ ending: Ending, _ body: String, path: String, check: (TestResponse) throws -> Void) async throws {
        let upstream = try await Self.upstream(ending)
        let harness = try await Self.gateway(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let answer = try await harness.chat(body, path: path)
        #expect(answer.status == 200)
        try check(answer)
        let record = try #require(await harness.records.waitFor(answer.header("x-request-id")))
        #expect(record.usage.prompt == 10 && record.usage.completion == 5 && !record.usage.estimated)
    }

    static let gemini = #"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#

    @Test(arguments: Ending.allCases)
    func anthropicClients(_ ending: Ending) async throws {
        try await Self.stream(ending, #"{"model":"m","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                              path: "/v1/messages") { answer in
            let events = Self.dataLines(answer.text)
            let types = events.compactMap { $0["type"]?.stringValue }
            #expect(types.first == "message_start")
            if ending == .cut {
                #expect(types.last == "error")
                #expect(events.last?["error"]?["message"]?.stringValue == StreamTail.cutMessage)
            } else {
                #expect(Array(types.suffix(2)) == ["message_delta", "message_stop"])
                let delta = events.first { $0["type"]?.stringValue == "message_delta" }
                #expect(delta?["delta"]?["stop_reason"]?.stringValue == "max_tokens")
                #expect(delta?["usage"]?["output_tokens"]?.int64Value == 5 && delta?["usage"]?["input_tokens"]?.int64Value == 10)
            }
        }
    }

    @Test(arguments: Ending.allCases)
    func geminiSSEClients(_ ending: Ending) async throws {
        try await Self.stream(ending, Self.gemini, path: "/v1beta/models/m:streamGenerateContent?alt=sse") { answer in
            let last = try #require(Self.dataLines(answer.text).last)
            if ending == .cut {
                #expect(last["error"]?["message"]?.stringValue == StreamTail.cutMessage)
            } else {
                #expect(last["candidates"]?[0]?["finishReason"]?.stringValue == "MAX_TOKENS")
                #expect(last["usageMetadata"]?["promptTokenCount"]?.int64Value == 10)
                #expect(last["usageMetadata"]?["candidatesTokenCount"]?.int64Value == 5)
            }
        }
    }

    @Test(arguments: Ending.allCases)
    func geminiJSONArrayClients(_ ending: Ending) async throws {
        try await Self.stream(ending, Self.gemini, path: "/v1beta/models/m:streamGenerateContent") { answer in
            let array = try #require(answer.json?.arrayValue, "not a JSON array: \(answer.text)")
            #expect(array.first?["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue == "hello")
            if ending == .cut {
                #expect(array.last?["error"]?["message"]?.stringValue == StreamTail.cutMessage)
            } else {
                #expect(array.last?["candidates"]?[0]?["finishReason"]?.stringValue == "MAX_TOKENS")
                #expect(array.last?["usageMetadata"]?["totalTokenCount"]?.int64Value == 15)
            }
        }
    }

    @Test(arguments: Ending.allCases)
    func openAIClients(_ ending: Ending) async throws {
        try await Self.stream(ending, #"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                              path: "/v1/chat/completions") { answer in
            #expect(!answer.text.contains("usage\":{"))  // the usage chunk the gateway asked for stays hidden
            switch ending {
            case .done: #expect(answer.text.hasSuffix("data: [DONE]\n\n"))
            case .noDone: #expect(answer.text.hasSuffix(#""finish_reason":"length"}]}"# + "\n\n"))
            case .cut: #expect(Self.dataLines(answer.text).last?["error"]?["code"]?.stringValue == "upstream_stream_truncated")
            }
        }
    }

    @Test(arguments: Ending.allCases)
    func responsesClients(_ ending: Ending) async throws {
        try await Self.stream(ending, #"{"model":"m","stream":true,"input":"hi"}"#, path: "/v1/responses") { answer in
            let last = try #require(Self.dataLines(answer.text).last)
            if ending == .cut {
                #expect(last["type"]?.stringValue == "response.failed")
                #expect(last["response"]?["error"]?["message"]?.stringValue == StreamTail.cutMessage)
            } else {
                #expect(last["type"]?.stringValue == "response.incomplete")  // finish_reason "length"
                #expect(last["response"]?["usage"]?["input_tokens"]?.int64Value == 10)
                #expect(last["response"]?["usage"]?["output_tokens"]?.int64Value == 5)
            }
        }
    }
}
