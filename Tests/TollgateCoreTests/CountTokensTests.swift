import NIOHTTP1
import Testing
@testable import TollgateCore

/// `POST /v1/messages/count_tokens` without a provider counter (the mock channel): the gateway's
/// estimate, marked, unbilled, limited by rpm, refused with Anthropic errors.
@Suite struct CountTokensTests {
    static let body = #"{"model":"m","messages":[{"role":"user","content":"count these few words please"}]}"#

    @Test func anEstimateIsMarkedUnbilledAndCountsAgainstRPM() async throws {
        let harness = try await KeyLimitTests.harness("rpm: 2")
        defer { Task { await harness.stop() } }
        let first = try await harness.client.fetch(port: harness.port, path: "/v1/messages/count_tokens", key: "sk-limited-key-123", json: Self.body)
        #expect(first.status == 200 && first.header("x-tollgate-estimated") == "true")
        #expect(first.json?["input_tokens"]?.int64Value == 10)  // 28 bytes / 4 = 7, plus 3 for the message
        #expect(first.header("x-tollgate-cost") == nil)
        let record = try #require(await harness.records.waitFor(first.header("x-request-id")))
        #expect(record.bill == .unpriced && record.usage.isEmpty && record.route == "count_tokens")
        let responses = await KeyLimitTests.burst(harness, count: 3, path: "/v1/messages/count_tokens", body: Self.body)
        #expect(responses.filter { $0.status == 200 }.count == 1, "rpm 2: one more in this minute")
        let refused = try #require(responses.first { $0.status == 429 })
        #expect(refused.json?["type"]?.stringValue == "error" && refused.json?["error"]?["type"]?.stringValue == "rate_limit_error")
    }

    @Test func malformedCountRequestsGetAnthropicErrors() async throws {
        let harness = try await KeyLimitTests.harness("rpm: 100")
        defer { Task { await harness.stop() } }
        for (body, status) in [("{", 400), (#"{"model":"m"}"#, 400), (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, 400),
                               (#"{"model":"other","messages":[]}"#, 404)] {
            let answer = try await harness.client.fetch(port: harness.port, path: "/v1/messages/count_tokens", key: "sk-limited-key-123", json: body)
            #expect(answer.status == status, "\(body)")
            #expect(answer.json?["type"]?.stringValue == "error", "\(body)")
        }
    }

    /// A plugin that does not take Anthropic bodies is sent the internal form to count only when
    /// built for ABI 1.3: an older one may treat the unknown operation as a chat (the fixture built
    /// with COUNTS_AS_CHAT does) and run an unbilled generation. One built for 1.3 refuses it.
    @Test func onlyPluginsBuiltForABI13AreAskedToCountTheInternalDialect() async throws {
        let upstream = try await MockUpstream { _, respond in
            respond.json(200, #"{"id":"c","object":"chat.completion","created":1,"model":"fx","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#)
        }
        defer { Task { await upstream.stop() } }
        for (name, defines) in [("old", ["ABI_MINOR=2", "COUNTS_AS_CHAT"]), ("current", [])] {
            let dir = try FixturePlugins.temporaryDirectory()
            try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "fixture.so", defines: defines)
            let harness = try await GatewayHarness.start("""
            channels:
              - name: fx
                provider: fixture
                base_url: "\(upstream.baseURL)"
                models: [fx]
            """, pluginsDirectory: dir)
            let counted = try await CountTokensChecks.count(harness, model: "fx")
            await harness.stop()
            #expect(counted.status == 200 && counted.header("x-tollgate-estimated") == "true", "\(name): \(counted.text)")
        }
        #expect(upstream.requests.isEmpty, "no plugin sent the count on as a chat")
    }

    @Test func theEstimateGrowsWithTextToolsAndImages() throws {
        let small = try AnthropicRequest.toIR(try JSONParser.parse(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#))
        let large = try AnthropicRequest.toIR(try JSONParser.parse(#"""
        {"model":"m","system":"be brief","tools":[{"name":"f","input_schema":{"type":"object"}}],
         "messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"url","url":"http://x/i.png"}}]}]}
        """#))
        #expect(ClientAPI.estimatedTokens(small) == 4)
        #expect(ClientAPI.estimatedTokens(large) > 400)
    }
}

@Suite struct ClientRouteNameTests {
    @Test func everyClientRouteHasOneNameWhateverTheDialect() {
        let cases: [(Substring, ClientRouteName?)] = [
            ("/v1/chat/completions", .chat), ("/v1/messages", .chat), ("/v1beta/models/g:streamGenerateContent", .chat),
            ("/v1/responses", .responses), ("/v1/responses/resp_1", .storedResponses), ("/v1/embeddings", .embeddings),
            ("/v1/models/g:batchEmbedContents", .embeddings), ("/v1/completions", .completions),
            ("/v1/messages/count_tokens", .countTokens), ("/v1beta/models/g:countTokens", .countTokens),
            ("/admin/usage", nil), ("/metrics", nil), ("/v1/models", nil), ("/v1/nope", nil),
        ]
        for (path, name) in cases { #expect(ClientRouteName(path: path) == name, "\(path)") }
    }

    @Test func routesArePrefixedByByteNotByCharacter() {
        let uri = "/x/v1/responses/resp_1?y"
        let path = uri.uriPath.dropFirst(2)  // a slice that starts inside its string
        #expect(path.hasBytePrefix("/v1/responses/") && path.hasBytePrefix("") && path.hasBytePrefix(String(path)))
        #expect(!path.hasBytePrefix("/v1/responses/resp_1?") && !path.hasBytePrefix("/v1/Responses/") && !Substring("").hasBytePrefix("/"))
        // A combining mark after the slash makes another Character, not other bytes: a route is its bytes.
        #expect(Substring("/admin/\u{301}x").hasBytePrefix("/admin/") && !Substring("/admin/\u{301}x").hasPrefix("/admin/"))
        #expect(ClientRouteName(path: "/v1/responses/\u{301}") == .storedResponses)
        #expect(RouteTable.entry(method: .GET, path: "/admin/keys/k1").label == "/admin/keys")
        // The query starts at the first `?`, found by byte after any UTF-8.
        let head = RequestHead(method: .GET, uri: "/é/x?key=a?b")
        #expect(head.path == "/é/x" && head.query == "key=a?b")
        #expect(RequestHead(method: .GET, uri: "/x").query == nil && "/x?".uriPath == "/x" && "?".uriPath == "")
    }
}
