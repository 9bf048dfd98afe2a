import Foundation
import Testing
@testable import TollgateCore

/// Headers cross on an allow-list both ways: an upstream's cookies, internal headers and
/// spoofed gateway headers never reach the client; a client's organization headers reach an
/// upstream only when the channel allows it.
@Suite struct HeaderAllowListTests {
    static let leaky: [(String, String)] = [
        ("set-cookie", "session=upstream-secret"), ("x-tollgate-cost", "0.000000000"), ("x-tollgate-channel", "spoofed"),
        ("openai-organization", "org-operator"), ("openai-processing-ms", "12"), ("x-ratelimit-remaining-requests", "99"),
        ("server", "internal-host-7"), ("x-request-id", "req_upstream_1"), ("retry-after", "3"),
    ]

    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            if request.json?["stream"]?.boolValue == true {
                respond.head(200, [("content-type", "text/event-stream")] + leaky)
                respond.chunk(#"data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}"# + "\n\ndata: [DONE]\n\n")
                return respond.end()
            }
            respond.json(200, #"{"id":"c","object":"chat.completion","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5}}"#,
                         headers: leaky)
        }
    }

    @Test func upstreamHeadersReachTheClientOnlyThroughTheAllowList() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        for body in [#"{"model":"gpt-4o","messages":[]}"#, #"{"model":"gpt-4o","stream":true,"messages":[]}"#] {
            let answer = try await harness.chat(body)
            #expect(answer.status == 200)
            for name in ["set-cookie", "openai-organization", "openai-processing-ms", "x-ratelimit-remaining-requests", "server"] {
                #expect(answer.header(name) == nil, "\(name) leaked")
            }
            #expect(answer.headers.filter { $0.0.lowercased() == "x-tollgate-channel" }.map(\.1) == ["up"])
            #expect(answer.headers.filter { $0.0.lowercased() == "x-tollgate-cost" }.allSatisfy { $0.1 != "0.000000000" })
            #expect(answer.header("x-upstream-request-id") == "req_upstream_1" && answer.header("retry-after") == "3")
            #expect(answer.header("x-request-id")?.hasPrefix("req_") == true && answer.header("x-request-id") != "req_upstream_1")
        }
        // Translated for an Anthropic client: the same fields, the content type the translation's.
        let translated = try await harness.chat(#"{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#, path: "/v1/messages")
        #expect(translated.status == 200)
        #expect(translated.headers.filter { $0.0.lowercased() == "content-type" }.map(\.1) == ["application/json"])
        #expect(translated.header("x-upstream-request-id") == "req_upstream_1" && translated.header("retry-after") == "3")
        for name in ["set-cookie", "openai-organization", "server"] { #expect(translated.header(name) == nil, "\(name) leaked") }
    }

    @Test func organizationHeadersGoUpstreamOnlyWhenTheChannelAllows() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: closed, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
          - { name: open, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o-org], options: { forward_openai_organization: "true" } }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let headers = [("authorization", "Bearer \(GatewayHarness.clientKey)"), ("content-type", "application/json"),
                       ("openai-organization", "org-client"), ("openai-project", "proj-client"), ("openai-beta", "assistants=v2"),
                       ("cookie", "client-cookie=1"), ("x-tollgate-channel", "open")]
        for model in ["gpt-4o", "gpt-4o-org"] {
            let answer = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", headers: headers,
                                                        body: Array(#"{"model":"\#(model)","messages":[]}"#.utf8))
            #expect(answer.status == 200)
        }
        let closed = try #require(upstream.requests.first), open = try #require(upstream.requests.last)
        #expect(closed.header("openai-organization") == nil && closed.header("openai-project") == nil)
        #expect(open.header("openai-organization") == "org-client" && open.header("openai-project") == "proj-client")
        for sent in [closed, open] {
            #expect(sent.header("openai-beta") == "assistants=v2")
            #expect(sent.header("cookie") == nil && sent.header("x-tollgate-channel") == nil)
            #expect(sent.header("authorization") != "Bearer \(GatewayHarness.clientKey)")
        }
    }

    /// Header names are compared over their bytes, ASCII case ignored on the name's side only
    /// (the list's names are lower case), never matching a longer or shorter name.
    @Test func namesCompareIgnoringASCIICaseOnly() {
        #expect("Content-Type".equalsIgnoringASCIICase("content-type"))
        #expect("CONTENT-TYPE".equalsIgnoringASCIICase("content-type"))
        #expect(!"Content-Typ".equalsIgnoringASCIICase("content-type") && !"Content-Types".equalsIgnoringASCIICase("content-type"))
        #expect(!"Content_Type".equalsIgnoringASCIICase("content-type"))
        #expect(!"content-type".equalsIgnoringASCIICase("Content-Type"), "the list's side is lower case")
        #expect("X-Ratelimit-Remaining".hasPrefixIgnoringASCIICase("x-ratelimit-") && !"X-Rate".hasPrefixIgnoringASCIICase("x-ratelimit-"))
        #expect("Bearer sk".hasPrefixIgnoringASCIICase("bearer ") && "".hasPrefixIgnoringASCIICase(""))
        #expect(!"Ä-type".equalsIgnoringASCIICase("ä-type"), "only ASCII letters fold")
        let sliced = String("xx-Request-Id".dropFirst(3))  // a string made from a slice
        #expect(sliced.equalsIgnoringASCIICase("request-id"))
    }

    /// A head's fields picked by a list of names: in the head's order, every one of a repeated
    /// name, names of the same length that differ passed over, bridged names as native ones.
    @Test func fieldsArePickedByTheirNames() {
        let head = HeadFields([("OpenAI-Beta", "a"), ("openai-betb", "x"), ("Cookie", "c"), ("OPENAI-PROJECT", "p"), ("openai-beta", "b"), ("openai-bet", "y")])
        let picked = head.pairs(named: ["openai-beta", "openai-project", NSString(string: "cookie") as String])
        #expect(picked.map(\.0) == ["OpenAI-Beta", "Cookie", "OPENAI-PROJECT", "openai-beta"] && picked.map(\.1) == ["a", "c", "p", "b"])
        #expect(head.pairs(named: []).isEmpty && HeadFields().pairs(named: ["cookie"]).isEmpty)
    }
}
