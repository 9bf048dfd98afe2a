import Foundation
import Testing
@testable import TollgateCore

/// The C plugin (jansson) built by the package, loaded from the build folder by dlopen like any
/// plugin, against a mock speaking Ollama's native wire format.
@Suite struct OllamaPluginTests {
    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let body = request.json
            switch (request.uri, body?["stream"]?.boolValue) {
            case ("/api/chat", true?):
                respond.head(200, [("content-type", "application/x-ndjson")])
                respond.chunk(#"{"model":"llama3.2","created_at":"2024-07-01T10:00:00Z","message":{"role":"assistant","content":"Hi"},"done":false}"# + "\n{\"model\":\"llama3.2\",")
                respond.chunk(#""created_at":"2024-07-01T10:00:01Z","message":{"role":"assistant","content":" there"},"done":false}"# + "\n")
                respond.chunk(#"{"model":"llama3.2","created_at":"2024-07-01T10:00:02Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count":4}"# + "\n")
                respond.end()
            case ("/api/chat", _) where body?["model"]?.stringValue == "missing":
                respond.json(404, #"{"error":"model 'missing' not found, try pulling it first"}"#)
            case ("/api/chat", _):
                respond.json(200, #"{"model":"llama3.2","created_at":"2024-07-01T10:00:00Z","message":{"role":"assistant","content":"Hi there"},"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count":4}"#)
            case ("/api/embed", _):
                respond.json(200, #"{"model":"nomic","embeddings":[[0.1,0.2],[0.3,0.4]],"prompt_eval_count":6}"#)
            default:
                respond.json(404, #"{"error":"no route"}"#)
            }
        }
    }

    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        channels:
          - name: local-ollama
            provider: ollama-native
            base_url: "\(upstream.baseURL)"
            models: [llama3.2, nomic, missing]
            model_map: { local: llama3.2 }
        """, pluginsDirectory: BuildProducts.directory)
    }

    @Test func convertsAChatBothWays() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"local","temperature":0.2,"max_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        let json = response.json
        #expect(json?["object"]?.stringValue == "chat.completion")
        #expect(json?["model"]?.stringValue == "local")
        #expect(json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi there")
        #expect(json?["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(json?["usage"]?["prompt_tokens"]?.int64Value == 12)

        let sent = upstream.requests.last?.json
        #expect(upstream.requests.last?.uri == "/api/chat")
        #expect(sent?["model"]?.stringValue == "llama3.2")
        #expect(sent?["stream"]?.boolValue == false)
        #expect(sent?["options"]?["temperature"]?.doubleValue == 0.2)
        #expect(sent?["options"]?["num_predict"]?.int64Value == 50)
        #expect(sent?["messages"]?[0]?["role"]?.stringValue == "system")

        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 12 && record?.usage.completion == 4)
        #expect(record?.channel == "local-ollama")
    }

    @Test func convertsAStreamSplitAcrossReads() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"llama3.2","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200)
        var parser = SSEParser()
        var events: [JSONValue] = []
        var done = false
        try parser.feed(response.body) { event in
            if event.isDone { done = true } else if let json = try? JSONParser.parse(event.data) { events.append(json) }
        }
        #expect(done)
        let text = events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
        #expect(text == "Hi there")
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(events.last?["usage"]?["completion_tokens"]?.int64Value == 4)
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 12 && record?.usage.completion == 4)
    }

    @Test func convertsEmbeddingsAndErrors() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let embeddings = try await harness.chat(#"{"model":"nomic","input":["a","b"]}"#, path: "/v1/embeddings")
        #expect(embeddings.status == 200, "\(embeddings.text)")
        #expect(embeddings.json?["data"]?[1]?["embedding"] == .array([.number("0.3"), .number("0.4")]))
        #expect(upstream.requests.last?.uri == "/api/embed")

        let missing = try await harness.chat(#"{"model":"missing","messages":[{"role":"user","content":"x"}]}"#)
        #expect(missing.status == 404)
        #expect(missing.json?["error"]?["message"]?.stringValue?.contains("not found") == true)

        let badMessages = try await harness.chat(#"{"model":"llama3.2","messages":"nope"}"#)
        #expect(badMessages.status == 400)
        #expect(badMessages.json?["error"]?["message"]?.stringValue?.hasPrefix("ollama-native:") == true)
    }
}
