import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport
@testable import TollgateCore

/// The Vertex plugin built by the package (`libtollgate-vertex.so`), loaded from the build folder
/// by dlopen. One mock plays both Google services: the OAuth token endpoint (it checks the grant
/// type and verifies the JWT's RS256 signature with the test key's public half, through the
/// `openssl` CLI) and Vertex AI's publisher endpoints (Anthropic's rawPredict/streamRawPredict
/// and Google's generateContent/streamGenerateContent), which refuse any other bearer token.
@Suite struct VertexUpstreamTests {
    static let token = "ya29.vertex-test-token"
    static let email = "tollgate@acme-test.iam.gserviceaccount.com"
    static let project = "acme-test"
    static let claude = "claude-sonnet-4-5@20250929"
    static let gemini = "gemini-2.5-flash"
    static func prefix(_ publisher: String, _ model: String) -> String {
        "/v1/projects/\(project)/locations/us-east5/publishers/\(publisher)/models/\(model)"
    }

    /// The token endpoint's verdict on each exchange it saw: nil when it was valid.
    final class TokenLog: Sendable {
        private let box = NIOLockedValueBox<[String?]>([])
        func append(_ verdict: String?) { box.withLockedValue { $0.append(verdict) } }
        var all: [String?] { box.withLockedValue { $0 } }
    }

    static let anthropicAnswer = #"{"id":"msg_v1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello from Vertex"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":10}}"#

    static func upstream(tokens: TokenLog) async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            if request.uri == "/token" {
                let verdict = VertexKeys.checkExchange(request)
                tokens.append(verdict)
                if let verdict { return respond.json(400, #"{"error":"invalid_grant","error_description":"\#(verdict)"}"#) }
                return respond.json(200, #"{"access_token":"\#(token)","expires_in":3599,"token_type":"Bearer"}"#)
            }
            guard request.header("authorization") == "Bearer \(token)" else {
                return respond.json(401, #"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#)
            }
            let body = request.json
            let hasTools = body?["tools"] != nil
            switch request.uri {
            case prefix("anthropic", claude) + ":rawPredict" where hasTools:
                respond.json(200, #"{"id":"msg_t1","type":"message","role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":40,"output_tokens":15}}"#)
            case prefix("anthropic", claude) + ":rawPredict":
                respond.json(200, anthropicAnswer)
            case prefix("anthropic", claude) + ":streamRawPredict":
                respond.head(200, [("content-type", "text/event-stream")])
                for part in hasTools ? ClaudeUpstreamTests.toolStream : ClaudeUpstreamTests.textStream { respond.chunk(part) }
                respond.end()
            case prefix("google", gemini) + ":generateContent" where hasTools:
                respond.json(200, """
                {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP"}],
                 "usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":7,"totalTokenCount":47},"modelVersion":"gemini-2.5-flash"}
                """)
            case prefix("google", gemini) + ":generateContent":
                respond.json(200, """
                {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi from Gemini"}]},"finishReason":"STOP"}],
                 "usageMetadata":{"promptTokenCount":120,"cachedContentTokenCount":100,"candidatesTokenCount":4,"thoughtsTokenCount":6,"totalTokenCount":130},
                 "modelVersion":"gemini-2.5-flash","responseId":"resp-v"}
                """)
            case prefix("google", gemini) + ":streamGenerateContent?alt=sse" where hasTools:
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 40,\"candidatesTokenCount\": 7,\"totalTokenCount\": 47}}\r\n\r\n")
                respond.end()
            case prefix("google", gemini) + ":streamGenerateContent?alt=sse":
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk("data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}],\"role\": \"model\"}}],\"usageMetadata\": {\"promptTokenCount\": 120,\"cachedContentTokenCount\": 100,\"totalTokenCount\": 120}}\r\n\r\ndata: {\"cand")
                respond.chunk("idates\": [{\"content\": {\"parts\": [{\"text\": \" there\"}],\"role\": \"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 120,\"cachedContentTokenCount\": 100,\"candidatesTokenCount\": 4,\"thoughtsTokenCount\": 6,\"totalTokenCount\": 130}}\r\n\r\n")
                respond.end()
            case prefix("google", gemini) + ":countTokens":
                GeminiCountTokensTests.respondCount(request, vertex: true, resource: "", respond)
            default:
                respond.json(404, #"{"error":{"code":404,"message":"no route for \#(request.uri)","status":"NOT_FOUND"}}"#)
            }
        }
    }

    /// A gateway with one Vertex channel whose key is the test key; `model_map` gives both models
    /// aliases that do not name their publisher, so answers are told apart by their shape.
    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        let key = VertexKeys.keyFile(tokenURI: upstream.baseURL + "/token")
        return try await GatewayHarness.start("""
        channels:
          - name: vertex
            provider: vertex
            base_url: "\(upstream.baseURL)"
            credentials: { service_account_json: '\(key)' }
            options: { location: us-east5 }
            models: ["\(claude)", "\(gemini)"]
            model_map: { my-claude: "\(claude)", flash: "\(gemini)" }
        """, pluginsDirectory: BuildProducts.directory)
    }

    static let tools = #""tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#

    @Test func pluginLoads() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(harness.gateway.registry.reports.contains { $0.status == .loaded(kind: .adaptor, name: "vertex", version: "1.0.0", providers: ["vertex"]) })
        #expect(tokens.all.isEmpty, "no token before the first request")
    }

    @Test func openAIClientToClaudeOnVertex() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await ClaudeUpstreamTests.chat(harness, #"{"model":"my-claude","temperature":0.2,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}"#,
                                                          headers: [("anthropic-beta", "context-1m-2025-08-07")])
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("x-tollgate-channel") == "vertex")
        #expect(response.json == (try JSONParser.parse(#"""
        {"id":"msg_v1","object":"chat.completion","created":\#(response.json?["created"]?.int64Value ?? -1),"model":"my-claude",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Hello from Vertex"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":175,"completion_tokens":10,"total_tokens":185,"prompt_tokens_details":{"cached_tokens":50,"cache_creation_tokens":25}}}
        """#)))

        let sent = try #require(upstream.requests.last)
        #expect(sent.method == "POST" && sent.uri == Self.prefix("anthropic", Self.claude) + ":rawPredict")
        #expect(sent.header("authorization") == "Bearer \(Self.token)")
        #expect(sent.header("anthropic-beta") == "context-1m-2025-08-07")
        #expect(sent.header("anthropic-version") == nil && sent.header("x-api-key") == nil)
        #expect(sent.json == (try JSONParser.parse(#"{"anthropic_version":"vertex-2023-10-16","max_tokens":64000,"system":"be brief","messages":[{"role":"user","content":"hello"}],"temperature":0.2}"#)))

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.usage == TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))
        #expect(record.channel == "vertex" && record.status == 200)
        #expect(tokens.all.count == 1 && tokens.all.first == .some(nil), "one valid exchange: \(tokens.all)")
    }

    @Test func openAIClientToClaudeOnVertexWithToolsAndStreams() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let withTools = try await harness.chat(#"{"model":"my-claude","max_tokens":300,"tool_choice":"required",\#(Self.tools),"messages":[{"role":"user","content":"weather in Paris?"}]}"#)
        #expect(withTools.status == 200, "\(withTools.text)")
        #expect(withTools.json?["choices"]?[0]?["message"]?["tool_calls"] == (try JSONParser.parse(#"[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]"#)))
        #expect(withTools.json?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        let sentTools = upstream.requests.last?.json
        #expect(sentTools?["tools"] == (try JSONParser.parse(#"[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#)))
        #expect(sentTools?["tool_choice"] == (try JSONParser.parse(#"{"type":"any"}"#)))
        #expect(sentTools?["model"] == nil && sentTools?["anthropic_version"]?.stringValue == "vertex-2023-10-16")
        #expect(await harness.records.waitFor(withTools.header("x-request-id"))?.usage == TokenUsage(prompt: 40, completion: 15))

        let streamed = try await harness.chat(#"{"model":"my-claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(streamed.status == 200)
        #expect(streamed.header("content-type") == "text/event-stream")
        #expect(upstream.requests.last?.uri == Self.prefix("anthropic", Self.claude) + ":streamRawPredict")
        #expect(upstream.requests.last?.json?["stream"] == .bool(true))
        let events = try ClaudeUpstreamTests.events(streamed)
        #expect(events.last == .string("[DONE]"))
        let chunks = events.dropLast()
        #expect(chunks.allSatisfy { $0["id"]?.stringValue == "msg_s1" && $0["model"]?.stringValue == "my-claude" })
        #expect(chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Hello there")
        #expect(chunks.last?["usage"] == (try JSONParser.parse(#"{"prompt_tokens":175,"completion_tokens":10,"total_tokens":185,"prompt_tokens_details":{"cached_tokens":50,"cache_creation_tokens":25}}"#)))
        #expect(await harness.records.waitFor(streamed.header("x-request-id"))?.usage == TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))

        let streamedTool = try await harness.chat(#"{"model":"my-claude","stream":true,\#(Self.tools),"messages":[{"role":"user","content":"weather?"}]}"#)
        #expect(streamedTool.status == 200)
        let toolEvents = try ClaudeUpstreamTests.events(streamedTool)
        let calls = toolEvents.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
        #expect(calls.first?["id"]?.stringValue == "toolu_9" && calls.first?["function"]?["name"]?.stringValue == "get_weather")
        #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city": "Paris"}"#)
        #expect(toolEvents.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls" })
        #expect(await harness.records.waitFor(streamedTool.header("x-request-id"))?.usage == TokenUsage(prompt: 40, completion: 15))

        #expect(tokens.all.count == 1, "one token for every request: \(tokens.all)")
    }

    @Test func openAIClientToGeminiOnVertex() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"flash","temperature":0.2,"max_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["model"]?.stringValue == "flash")
        #expect(response.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi from Gemini")
        #expect(response.json?["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(response.json?["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 100)
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.prefix("google", Self.gemini) + ":generateContent")
        #expect(sent.header("authorization") == "Bearer \(Self.token)")
        #expect(sent.json?["contents"] == (try JSONParser.parse(#"[{"role":"user","parts":[{"text":"hello"}]}]"#)))
        #expect(sent.json?["systemInstruction"]?["parts"]?[0]?["text"]?.stringValue == "be brief")
        #expect(sent.json?["generationConfig"]?["maxOutputTokens"]?.int64Value == 50)
        #expect(sent.json?["generationConfig"]?["temperature"] == (try JSONParser.parse("0.2")))
        #expect(await harness.records.waitFor(response.header("x-request-id"))?.usage == TokenUsage(prompt: 120, completion: 10, cacheRead: 100, reasoning: 6))

        let withTools = try await harness.chat(#"{"model":"flash",\#(Self.tools),"messages":[{"role":"user","content":"weather in Paris?"}]}"#)
        #expect(withTools.status == 200, "\(withTools.text)")
        let call = withTools.json?["choices"]?[0]?["message"]?["tool_calls"]?[0]
        #expect(call?["function"]?["name"]?.stringValue == "get_weather")
        #expect(call?["function"]?["arguments"].flatMap { $0.stringValue }.flatMap { try? JSONParser.parse($0) } == (try JSONParser.parse(#"{"city":"Paris"}"#)))
        #expect(withTools.json?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        #expect(upstream.requests.last?.json?["tools"]?[0]?["functionDeclarations"]?[0]?["name"]?.stringValue == "get_weather")
        #expect(await harness.records.waitFor(withTools.header("x-request-id"))?.usage == TokenUsage(prompt: 40, completion: 7))

        let streamed = try await harness.chat(#"{"model":"flash","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(streamed.status == 200)
        #expect(upstream.requests.last?.uri == Self.prefix("google", Self.gemini) + ":streamGenerateContent?alt=sse")
        let events = try ClaudeUpstreamTests.events(streamed)
        #expect(events.last == .string("[DONE]"))
        #expect(events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Hi there")
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(events.dropLast().last?["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 100)
        #expect(await harness.records.waitFor(streamed.header("x-request-id"))?.usage == TokenUsage(prompt: 120, completion: 10, cacheRead: 100, reasoning: 6))

        let streamedTool = try await harness.chat(#"{"model":"flash","stream":true,\#(Self.tools),"messages":[{"role":"user","content":"weather?"}]}"#)
        #expect(streamedTool.status == 200)
        let toolEvents = try ClaudeUpstreamTests.events(streamedTool)
        let streamedCall = toolEvents.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }.first
        #expect(streamedCall?["function"]?["name"]?.stringValue == "get_weather")
        #expect(toolEvents.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls" })
        #expect(await harness.records.waitFor(streamedTool.header("x-request-id"))?.usage == TokenUsage(prompt: 40, completion: 7))

        #expect(tokens.all.count == 1 && tokens.all.first == .some(nil), "one valid exchange for four requests: \(tokens.all)")
        #expect(upstream.requests.filter { $0.uri == "/token" }.count == 1)
    }

    @Test func concurrentFirstRequestsShareOneExchange() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<6 {
                let model = i.isMultiple(of: 2) ? "my-claude" : "flash"
                group.addTask { try await harness.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#).status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 6))
        #expect(tokens.all.count == 1, "one exchange, shared by six requests: \(tokens.all)")
        #expect(upstream.requests.filter { $0.header("authorization") == "Bearer \(Self.token)" }.count == 6)
    }

    /// An Anthropic client reaching Claude on Vertex: its body goes up with `model` removed and
    /// `anthropic_version` set (nothing else changes), and Vertex's bytes come back as they are.
    @Test func anthropicClientPassesThroughToClaudeOnVertex() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let request = #"{"model":"my-claude","max_tokens":50,"messages":[{"role":"user","content":"hello"}]}"#
        let response = try await ClaudeUpstreamTests.messages(harness, request)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == Self.anthropicAnswer)
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.prefix("anthropic", Self.claude) + ":rawPredict")
        #expect(String(decoding: sent.body, as: UTF8.self) == #"{"anthropic_version":"vertex-2023-10-16","max_tokens":50,"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(sent.header("authorization") == "Bearer \(Self.token)")
        #expect(sent.header("x-api-key") == nil)
        #expect(await harness.records.waitFor(response.header("x-request-id"))?.usage == TokenUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))

        let streamed = try await ClaudeUpstreamTests.messages(harness, #"{"model":"my-claude","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hello"}]}"#)
        #expect(streamed.status == 200)
        #expect(streamed.text == ClaudeUpstreamTests.textStream.joined(), "Vertex's events, byte for byte")
        #expect(upstream.requests.last?.uri == Self.prefix("anthropic", Self.claude) + ":streamRawPredict")
        #expect(tokens.all.count == 1)
    }

    @Test func aRefusedTokenExchangeIsABadGateway() async throws {
        let tokens = TokenLog()
        let upstream = try await Self.upstream(tokens: tokens)
        // A key the token endpoint does not know: its JWT does not verify with the test key.
        let key = VertexKeys.keyFile(tokenURI: upstream.baseURL + "/token", pem: VertexKeys.otherPrivateKey)
        let harness = try await GatewayHarness.start("""
        channels:
          - name: vertex
            provider: vertex
            base_url: "\(upstream.baseURL)"
            credentials: { service_account_json: '\(key)' }
            models: ["\(Self.gemini)"]
        """, pluginsDirectory: BuildProducts.directory)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hello"}]}"#)
        #expect(response.status == 502, "\(response.text)")
        #expect(response.json?["error"]?["message"]?.stringValue?.contains("invalid_grant") == true)
        #expect(tokens.all.first??.contains("signature") == true, "the mock refused the signature: \(tokens.all)")
        #expect(!upstream.requests.contains { $0.uri.hasPrefix("/v1/") }, "nothing reached Vertex")
    }
}

/// Test keys made with the `openssl` CLI when first used, and the token endpoint's checks.
enum VertexKeys {
    static let privateKey: String = openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    static let otherPrivateKey: String = openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    static let publicKeyPath: String = {
        let path = temporaryPath("vertex-public.pem")
        FileManager.default.createFile(atPath: path, contents: Data(openssl(["pkey", "-pubout"], input: privateKey).utf8))
        return path
    }()

    /// A service-account key file's JSON text, escaped for a single-quoted YAML scalar (it holds
    /// no single quote; JSON's `\n` escapes stay as they are).
    static func keyFile(tokenURI: String, pem: String = privateKey) -> String {
        JSONValue.object([
            "type": .string("service_account"), "project_id": .string(VertexUpstreamTests.project),
            "private_key_id": .string("f00dfeed"), "private_key": .string(pem),
            "client_email": .string(VertexUpstreamTests.email), "client_id": .string("1234"),
            "token_uri": .string(tokenURI),
        ]).jsonString
    }

    /// Nil when the request is a valid JWT-bearer exchange signed by `privateKey`, else why not.
    static func checkExchange(_ request: ReceivedRequest) -> String? {
        guard request.header("content-type") == "application/x-www-form-urlencoded" else { return "content-type" }
        var form: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else { return "grant_type" }
        let segments = (form["assertion"] ?? "").split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard segments.count == 3, let header = decode(segments[0]), let claims = decode(segments[1]), let signature = decode(segments[2]) else {
            return "assertion is not a JWT"
        }
        guard verify(Array((segments[0] + "." + segments[1]).utf8), signature: signature) else { return "bad signature" }
        let h = try? JSONParser.parse(header), c = try? JSONParser.parse(claims)
        guard h?["alg"]?.stringValue == "RS256", h?["kid"]?.stringValue == "f00dfeed" else { return "header" }
        guard c?["iss"]?.stringValue == VertexUpstreamTests.email,
              c?["scope"]?.stringValue == "https://www.googleapis.com/auth/cloud-platform",
              c?["aud"]?.stringValue?.hasSuffix("/token") == true,
              let iat = c?["iat"]?.int64Value, let exp = c?["exp"]?.int64Value, exp == iat + 3600,
              abs(iat - Int64(Date().timeIntervalSince1970)) < 300 else { return "claims" }
        return nil
    }

    /// base64url without padding → bytes.
    static func decode(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }

    /// `openssl dgst -sha256 -verify` with the public key: proves the signature without the signer.
    static func verify(_ message: [UInt8], signature: [UInt8]) -> Bool {
        let messagePath = temporaryPath("jwt-input"), signaturePath = temporaryPath("jwt-signature")
        defer {
            try? FileManager.default.removeItem(atPath: messagePath)
            try? FileManager.default.removeItem(atPath: signaturePath)
        }
        FileManager.default.createFile(atPath: messagePath, contents: Data(message))
        FileManager.default.createFile(atPath: signaturePath, contents: Data(signature))
        return (try? run(["dgst", "-sha256", "-verify", publicKeyPath, "-signature", signaturePath, messagePath])) != nil
    }

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-\(UUID().uuidString)-\(name)").path
    }

    private static func openssl(_ arguments: [String], input: String = "") -> String {
        do { return String(decoding: try run(arguments, input: Array(input.utf8)), as: UTF8.self) } catch {
            fatalError("openssl \(arguments.joined(separator: " ")) failed: \(error)")
        }
    }

    /// Runs `openssl` with small inputs; its stdout, or a failure on a non-zero exit.
    private static func run(_ arguments: [String], input: [UInt8] = []) throws -> [UInt8] {
        try Subprocess.checked("openssl", arguments, input: input)
    }
}
