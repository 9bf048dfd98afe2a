import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TollgatePluginABI
@testable import TollgateCore

/// The Gemini plugin built by the package (`libtollgate-gemini.so`), loaded from the build folder
/// by dlopen, between an OpenAI client and a mock speaking Gemini's real wire format.
@Suite struct GeminiUpstreamTests {
    static let key = "AIza-test-key"

    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let body = request.json
            let hasTools = body?["tools"] != nil
            switch request.uri {
            case "/v1beta/models/gemini-2.0-flash:generateContent" where hasTools:
                respond.json(200, """
                {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP","index":0}],
                 "usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":7,"totalTokenCount":47},"modelVersion":"gemini-2.0-flash","responseId":"tool-1"}
                """)
            case "/v1beta/models/gemini-2.0-flash:generateContent":
                respond.json(200, """
                {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi there"}]},"finishReason":"STOP","index":0}],
                 "usageMetadata":{"promptTokenCount":120,"cachedContentTokenCount":100,"candidatesTokenCount":4,"thoughtsTokenCount":6,"totalTokenCount":130},
                 "modelVersion":"gemini-2.0-flash","responseId":"resp-1"}
                """)
            case "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse" where hasTools:
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 40,\"candidatesTokenCount\": 7,\"totalTokenCount\": 47}}\r\n\r\n")
                respond.end()
            case "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse":
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 120,\"cachedContentTokenCount\": 100,\"totalTokenCount\": 120},\"responseId\": \"s-1\"}\r\n\r\ndata: {\"candid")
                respond.chunk("ates\": [{\"content\": {\"parts\": [{\"text\": \" there\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 120,\"cachedContentTokenCount\": 100,\"candidatesTokenCount\": 4,\"thoughtsTokenCount\": 6,\"totalTokenCount\": 130},\"responseId\": \"s-1\"}\r")
                respond.chunk("\n\r\n")
                respond.end()
            case "/v1beta/models/gemini-cr:streamGenerateContent?alt=sse":
                // Lines ended by a lone CR (WHATWG allows it), the last blank line split after its CR.
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk(": keep-alive\rdata: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"},\"index\": 0}],\"responseId\": \"cr-1\"}\r\r")
                respond.chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" there\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 2}}\r")
                respond.chunk("\r")
                respond.end()
            case "/v1beta/models/text-embedding-004:batchEmbedContents":
                respond.json(200, #"{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]}"#)
            case "/v1beta/models/gemini-missing:generateContent":
                respond.json(404, #"{"error":{"code":404,"message":"models/gemini-missing is not found for API version v1beta","status":"NOT_FOUND"}}"#)
            default:
                respond.json(404, #"{"error":{"code":404,"message":"no route","status":"NOT_FOUND"}}"#)
            }
        }
    }

    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        channels:
          - name: google
            provider: gemini
            base_url: "\(upstream.baseURL)"
            credentials: { api_key: "\(key)" }
            models: [gemini-2.0-flash, gemini-missing, gemini-cr, text-embedding-004]
            model_map: { flash: gemini-2.0-flash }
        """, pluginsDirectory: BuildProducts.directory)
    }

    static let toolsJSON = #""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string"}},"required":["city"]}}}]"#

    @Test func pluginLoads() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(harness.gateway.registry.reports.contains { $0.status == .loaded(kind: .adaptor, name: "gemini", version: "1.0.0", providers: ["gemini"]) })
    }

    @Test func convertsAChatBothWays() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"flash","temperature":0.2,"max_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        let json = response.json
        #expect(json?["object"]?.stringValue == "chat.completion")
        #expect(json?["model"]?.stringValue == "flash")
        #expect(json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi there")
        #expect(json?["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(json?["usage"]?["prompt_tokens"]?.int64Value == 120)
        #expect(json?["usage"]?["completion_tokens"]?.int64Value == 10)
        #expect(json?["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 100)
        #expect(json?["usage"]?["completion_tokens_details"]?["reasoning_tokens"]?.int64Value == 6)

        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == "/v1beta/models/gemini-2.0-flash:generateContent")
        #expect(sent.header("x-goog-api-key") == Self.key)
        #expect(sent.header("authorization") == nil)
        #expect(sent.json == JSONValue.object([
            "contents": .array([.object(["role": .string("user"), "parts": .array([.object(["text": .string("hello")])])])]),
            "systemInstruction": .object(["parts": .array([.object(["text": .string("be brief")])])]),
            "generationConfig": .object(["temperature": .number("0.2"), "maxOutputTokens": .number("50")]),
        ]))

        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 120, completion: 10, cacheRead: 100, reasoning: 6))
        #expect(record?.channel == "google")
    }

    @Test func convertsToolCalls() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gemini-2.0-flash","tool_choice":"auto","#
            + Self.toolsJSON + #","messages":[{"role":"user","content":"weather in Paris?"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        let choice = response.json?["choices"]?[0]
        #expect(choice?["finish_reason"]?.stringValue == "tool_calls")
        #expect(choice?["message"]?["tool_calls"]?[0] == JSONValue.object([
            "id": .string("call_0"), "type": .string("function"),
            "function": .object(["name": .string("get_weather"), "arguments": .string(#"{"city":"Paris"}"#)]),
        ]))
        let sent = upstream.requests.last?.json
        #expect(sent?["tools"]?[0]?["functionDeclarations"]?[0]?["parameters"] == (try JSONParser.parse(#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#)))
        #expect(sent?["toolConfig"]?["functionCallingConfig"]?["mode"]?.stringValue == "AUTO")

        // The second leg: the tool's result goes back as a functionResponse.
        let followUp = try await harness.chat(#"{"model":"gemini-2.0-flash","#
            + Self.toolsJSON + #","messages":[{"role":"user","content":"weather in Paris?"},"#
            + #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"#
            + #"{"role":"tool","tool_call_id":"call_0","content":"{\"temp_c\":21}"}]}"#)
        #expect(followUp.status == 200, "\(followUp.text)")
        let contents = upstream.requests.last?.json?["contents"]
        #expect(contents?[1]?["parts"]?[0]?["functionCall"]?["args"]?["city"]?.stringValue == "Paris")
        #expect(contents?[2]?["role"]?.stringValue == "user")
        #expect(contents?[2]?["parts"]?[0]?["functionResponse"] == (try JSONParser.parse(#"{"name":"get_weather","response":{"content":{"temp_c":21}}}"#)))
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 40, completion: 7))
    }

    @Test func convertsAStreamSplitAcrossReads() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gemini-2.0-flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/event-stream")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
        #expect(sent.header("x-goog-api-key") == Self.key)
        #expect(sent.json?["contents"]?[0]?["parts"]?[0]?["text"]?.stringValue == "hello")

        let (events, done) = try Self.events(response.body)
        #expect(done)
        #expect(events.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
        #expect(events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Hi there")
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(events.last?["usage"]?["prompt_tokens"]?.int64Value == 120)
        #expect(events.last?["usage"]?["completion_tokens"]?.int64Value == 10)
        #expect(events.last?["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 100)
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 120, completion: 10, cacheRead: 100, reasoning: 6))
    }

    /// A lone CR ends a line (the WHATWG rule), also split across reads: the events are read,
    /// converted and metered as with CRLF.
    @Test func readsAStreamWithLoneCRLineEnds() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gemini-cr","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200)
        let (events, done) = try Self.events(response.body)
        #expect(done)
        #expect(events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Hi there")
        #expect(events.first?["id"]?.stringValue == "chatcmpl-cr-1")
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(events.last?["usage"]?["prompt_tokens"]?.int64Value == 9)
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 9 && record?.usage.completion == 2)
    }

    @Test func streamsToolCalls() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gemini-2.0-flash","stream":true,"#
            + Self.toolsJSON + #","messages":[{"role":"user","content":"weather in Paris?"}]}"#)
        #expect(response.status == 200)
        #expect(upstream.requests.last?.uri == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
        let (events, done) = try Self.events(response.body)
        #expect(done)
        let call = events.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }.first
        #expect(call?["index"]?.int64Value == 0)
        #expect(call?["function"]?["name"]?.stringValue == "get_weather")
        #expect(call?["function"]?["arguments"]?.stringValue == #"{"city":"Paris"}"#)
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls" })
        #expect(!events.contains { $0["usage"] != nil && $0["usage"] != .null }, "no usage chunk unless asked for")
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 40, completion: 7))
    }

    @Test func convertsEmbeddingsAndErrors() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let embeddings = try await harness.chat(#"{"model":"text-embedding-004","input":["a","b"]}"#, path: "/v1/embeddings")
        #expect(embeddings.status == 200, "\(embeddings.text)")
        #expect(embeddings.json?["object"]?.stringValue == "list")
        #expect(embeddings.json?["data"]?[1]?["embedding"] == .array([.number("0.3"), .number("0.4")]))
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == "/v1beta/models/text-embedding-004:batchEmbedContents")
        #expect(sent.header("x-goog-api-key") == Self.key)
        #expect(sent.json?["requests"]?[1] == (try JSONParser.parse(#"{"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}"#)))
        let record = await harness.records.waitFor(embeddings.header("x-request-id"))
        #expect(record?.usage.estimated == true)
        // Both read the client's body with the answer (the channel's readsRequestBody): the
        // estimate from its two one-byte inputs, and the encoding it asked for.
        #expect(record?.usage.prompt == 1)
        let base64 = try await harness.chat(#"{"model":"text-embedding-004","input":["a","b"],"encoding_format":"base64"}"#, path: "/v1/embeddings")
        #expect(base64.json?["data"]?[1]?["embedding"]?.stringValue == "mpmZPs3MzD4=", "\(base64.text)")

        let missing = try await harness.chat(#"{"model":"gemini-missing","messages":[{"role":"user","content":"x"}]}"#)
        #expect(missing.status == 404)
        #expect(missing.json?["error"]?["message"]?.stringValue == "models/gemini-missing is not found for API version v1beta")
        #expect(missing.json?["error"]?["type"]?.stringValue == "not_found")
        #expect(missing.json?["error"]?["code"]?.stringValue == "NOT_FOUND")

        let badMessages = try await harness.chat(#"{"model":"gemini-2.0-flash","messages":"nope"}"#)
        #expect(badMessages.status == 400)
        #expect(badMessages.json?["error"]?["message"]?.stringValue?.hasPrefix("gemini:") == true)
    }

    /// A Gemini client (google-genai: `x-goog-api-key`, `alt=sse`) on the gateway's Gemini routes:
    /// its body and the upstream's answer pass through byte for byte; usage is still recorded.
    @Test func geminiClientsPassThroughTheGateway() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let body = #"{"contents":[{"role":"user","parts":[{"text":"hello"}]}],"generation_config":{"max_output_tokens":50}}"#
        let headers = [("x-goog-api-key", GatewayHarness.clientKey), ("content-type", "application/json")]

        let whole = try await harness.client.fetch(port: harness.port, path: "/v1beta/models/flash:generateContent", headers: headers, body: Array(body.utf8))
        #expect(whole.status == 200, "\(whole.text)")
        #expect(whole.json?["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue == "Hi there")
        #expect(whole.json?["responseId"]?.stringValue == "resp-1", "the upstream's own answer")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == "/v1beta/models/gemini-2.0-flash:generateContent")
        #expect(sent.header("x-goog-api-key") == Self.key, "the channel's key, never the client's")
        #expect(sent.body == Array(body.utf8))
        let record = await harness.records.waitFor(whole.header("x-request-id"))
        #expect(record?.usage == TokenUsage(prompt: 120, completion: 10, cacheRead: 100, reasoning: 6))

        let streamed = try await harness.client.fetch(port: harness.port, path: "/v1/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
                                                      headers: headers, body: Array(body.utf8))
        #expect(streamed.status == 200)
        #expect(upstream.requests.last?.uri == "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
        #expect(streamed.text.hasPrefix("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]"))
        #expect(streamed.text.hasSuffix("\"responseId\": \"s-1\"}\r\n\r\n"))
        #expect(!streamed.text.contains("[DONE]"))
        let streamRecord = await harness.records.waitFor(streamed.header("x-request-id"))
        #expect(streamRecord?.usage == TokenUsage(prompt: 120, completion: 10, cacheRead: 100, reasoning: 6))

        // Without alt=sse a Gemini client expects a JSON array: converted, not passed through.
        let array = try await harness.client.fetch(port: harness.port, path: "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
                                                   headers: headers, body: Array(body.utf8))
        #expect(array.status == 200)
        #expect(array.header("content-type") == "application/json")
        let elements = try #require(array.json?.arrayValue, "\(array.text)")
        let text = elements.compactMap { $0["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.stringValue }.joined()
        #expect(text == "Hi there")
        #expect(elements.last?["usageMetadata"]?["cachedContentTokenCount"]?.int64Value == 100)

        let missing = try await harness.client.fetch(port: harness.port, path: "/v1beta/models/gemini-missing:generateContent", headers: headers, body: Array(body.utf8))
        #expect(missing.status == 404)
        #expect(missing.json?["error"]?["status"]?.stringValue == "NOT_FOUND", "Google's error shape, untouched")
    }

    @Test func refusesAChannelWithoutAKey() async throws {
        let error = await #expect(throws: (any Error).self) {
            _ = try await GatewayHarness.start("""
            channels:
              - { name: google, provider: gemini, models: [gemini-2.0-flash] }
            """, pluginsDirectory: BuildProducts.directory)
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("credentials.api_key is required"))
    }

    /// A Gemini-dialect body (what google-genai sends) through the ABI hooks as the core calls
    /// them: accepted for every model, sent unchanged, answered unchanged, usage still read.
    @Test func geminiDialectPassesThroughUntouched() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let settings = Array(#"{"name":"g","provider":"gemini","base_url":"https://example.test/","credentials":{"api_key":"k"},"options":{"api_version":"v1"}}"#.utf8)
        let channel = try harness.gateway.factory.adaptor(providerID: "gemini").makeChannel(settings: settings)
        #expect(channel.accepts(TOLLGATE_DIALECT_GEMINI, model: "gemini-2.5-pro"))
        #expect(!channel.accepts(TOLLGATE_DIALECT_ANTHROPIC, model: "gemini-2.5-pro"))

        let body = ByteBuffer(string: #"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generation_config":{"max_output_tokens":5}}"#)
        let built = try channel.buildRequest(operation: TOLLGATE_OPERATION_CHAT, dialect: TOLLGATE_DIALECT_GEMINI, model: "gemini-2.5-pro",
                                             body: body, stream: true, clientHeaders: [])
        #expect(built.url == "https://example.test/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse")
        #expect(built.body == body)
        #expect(built.headers.contains { $0.0.lowercased() == "x-goog-api-key" && $0.1 == "k" })

        let single = try channel.buildRequest(operation: TOLLGATE_OPERATION_EMBEDDINGS, dialect: TOLLGATE_DIALECT_GEMINI, model: "text-embedding-004",
                                              body: ByteBuffer(string: #"{"content":{"parts":[{"text":"a"}]}}"#), stream: false, clientHeaders: [])
        #expect(single.url == "https://example.test/v1/models/text-embedding-004:embedContent")
        let batch = try channel.buildRequest(operation: TOLLGATE_OPERATION_EMBEDDINGS, dialect: TOLLGATE_DIALECT_GEMINI, model: "text-embedding-004",
                                             body: ByteBuffer(string: #"{"requests":[]}"#), stream: false, clientHeaders: [])
        #expect(batch.url == "https://example.test/v1/models/text-embedding-004:batchEmbedContents")
        // The URLs it builds are parsed once while they repeat; each is still its own.
        for (url, host, path) in [(built.url, "example.test", "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
                                  (built.url, "example.test", "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
                                  ("http://[::1]:8080/x", "[::1]:8080", "/x"), (single.url, "example.test", "/v1/models/text-embedding-004:embedContent"),
                                  (built.url, "example.test", "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse")] {
            let parsed = channel.parsed(url)
            #expect(parsed?.host == host && parsed?.path == path && parsed?.endpoint.hostHeader == host, "\(url)")
        }
        #expect(channel.parsed("ftp://example.test/x") == nil && channel.parsed("not a url") == nil)
        #expect(channel.parsed(built.url)?.path == "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse")

        let answer = ByteBuffer(string: #"{"candidates":[{"content":{"parts":[{"text":"yo"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":3,"cachedContentTokenCount":1,"candidatesTokenCount":2}}"#)
        let converted = try channel.convertResponse(operation: TOLLGATE_OPERATION_CHAT, dialect: TOLLGATE_DIALECT_GEMINI, status: 200,
                                                    headers: HeadFields(), body: answer, model: "gemini-2.5-pro", requestBody: body)
        #expect(converted.status == 200 && converted.body == answer)
        #expect(converted.usage == TokenUsage(prompt: 3, completion: 2, cacheRead: 1))
        let error = ByteBuffer(string: #"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#)
        let failed = try channel.convertResponse(operation: TOLLGATE_OPERATION_CHAT, dialect: TOLLGATE_DIALECT_GEMINI, status: 400,
                                                 headers: HeadFields(), body: error, model: "gemini-2.5-pro", requestBody: body)
        #expect(failed.status == 400 && failed.body == error)

        let stream = try channel.makeStream(operation: TOLLGATE_OPERATION_CHAT, dialect: TOLLGATE_DIALECT_GEMINI, model: "gemini-2.5-pro",
                                            headers: HeadFields(), includeUsage: false, requestBody: body)
        let events = Array("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"yo\"}]},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 3,\"candidatesTokenCount\": 2}}\r\n\r\n".utf8)
        let fed = events.withUnsafeBytes { stream.feed($0) }
        let finished = stream.finish()
        #expect(fed.error == nil && finished.error == nil)
        #expect(fed.out + finished.out == events)
        #expect(stream.currentUsage == TokenUsage(prompt: 3, completion: 2))
    }

    static func events(_ body: [UInt8]) throws -> (events: [JSONValue], done: Bool) {
        var parser = SSEParser()
        var events: [JSONValue] = []
        var done = false
        try parser.feed(body) { event in
            if event.isDone { done = true } else if let json = try? JSONParser.parse(event.data) { events.append(json) }
        }
        return (events, done)
    }
}
