import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

@Suite struct GatewayBehaviourTests {
    static let sse = [("content-type", "text/event-stream")]

    @Test func firstEventReachesTheClientWhileTheUpstreamHoldsTheSecond() async throws {
        let release = NIOLockedValueBox<MockResponder?>(nil)
        let upstream = try await MockUpstream { _, respond in
            release.withLockedValue { $0 = respond }  // the rest waits for the test
            respond.head(200, Self.sse)
            respond.chunk(#"data: {"choices":[{"index":0,"delta":{"content":"first"}}]}"# + "\n\n")
        }
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-x] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")],
                                                  body: Array(#"{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true}}"#.utf8))
        var iterator = parts.makeAsyncIterator()
        guard case .head(let status, _)? = try await iterator.next() else { Issue.record("no head"); return }
        #expect(status == 200)
        guard case .body(let first)? = try await iterator.next() else { Issue.record("no first event"); return }
        #expect(String(decoding: first, as: UTF8.self).contains("first"))
        let held = release.withLockedValue { $0 }
        #expect(held != nil)
        // Nothing but the test sends the second event, so the first one arrived without it.
        held?.chunk(#"data: {"choices":[{"index":0,"delta":{"content":"second"}}]}"# + "\n\ndata: [DONE]\n\n")
        held?.end()
        var rest = ""
        while let part = try await iterator.next() {
            if case .body(let bytes) = part { rest += String(decoding: bytes, as: UTF8.self) }
        }
        #expect(rest.contains("second") && rest.hasSuffix("data: [DONE]\n\n"))
    }

    /// An OpenAI-compatible upstream ending its SSE lines with a lone CR (WHATWG allows CR, LF
    /// and CRLF), one CR split from its LF across reads: the bytes pass untouched and the usage
    /// chunk is still read for the ledger.
    @Test func metersAStreamWhoseLinesEndWithALoneCR() async throws {
        let events = [#"data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}"# + "\r\r",
                      #"data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7}}"# + "\r",
                      "\n\r\n", "data: [DONE]\r\r"]
        let upstream = try await MockUpstream { _, respond in
            respond.head(200, Self.sse)
            for event in events { respond.chunk(event) }
            respond.end()
        }
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-x] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == events.joined())
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 11 && record?.usage.completion == 7 && record?.usage.estimated == false)
    }

    /// Request ids: `req_`, six base-62 digits of the instance's prefix, at least five of the
    /// counter. Fifteen bytes (kept inline by Swift, no allocation) until the counter outgrows
    /// five digits; unique for every counter and prefix (the prefix is fixed-width).
    @Test func requestIDsAreShortAndUnique() {
        #expect(GatewayRuntime.requestID(prefix: 0, counter: 1) == "req_00000000001")
        #expect(GatewayRuntime.requestID(prefix: 61, counter: 62) == "req_00000z00010")
        #expect(GatewayRuntime.requestID(prefix: .max, counter: 916_132_831) == "req_4gfFC3zzzzz")
        #expect(GatewayRuntime.requestID(prefix: .max, counter: 916_132_832) == "req_4gfFC3100000")
        #expect(GatewayRuntime.requestID(prefix: 7, counter: .max).utf8.count == 4 + 6 + 11)
        let ids = (0..<5_000).map { GatewayRuntime.requestID(prefix: UInt32($0 % 3), counter: UInt64($0 / 3)) }
        #expect(Set(ids).count == ids.count && ids.allSatisfy { $0.utf8.count == 15 })
    }

    @Test func silentUpstreamsTimeOut() async throws {
        let upstream = try await MockUpstream { request, respond in
            if request.json?["stream"]?.boolValue == true {
                respond.head(200, Self.sse)
                respond.chunk(#"data: {"choices":[]}"# + "\n\n")  // then nothing
            }  // non-streaming: never answers
        }
        let harness = try await GatewayHarness.start("""
        upstream: { response_timeout: 300ms, read_timeout: 300ms }
        channels:
          - { name: slow, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-x] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let silent = try await harness.chat(#"{"model":"gpt-x","messages":[]}"#)
        #expect(silent.status == 504)
        #expect(silent.json?["error"]?["code"]?.stringValue == "upstream_timeout")
        let stalled = try await harness.chat(#"{"model":"gpt-x","stream":true,"messages":[]}"#)
        #expect(stalled.status == 200)
        #expect(stalled.text.contains("went silent"))
    }

    @Test func answersExpectContinueBeforeTheBody() async throws {
        let harness = try await GatewayHarness.start("channels:\n  - { name: m, provider: mock, models: [mock-echo] }")
        defer { Task { await harness.stop() } }
        let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)"), ("expect", "100-continue")],
                                                  body: Array(#"{"model":"mock-echo","messages":[{"role":"user","content":"x"}]}"#.utf8))
        var statuses: [Int] = []
        for try await part in parts { if case .head(let status, _) = part { statuses.append(status) } }
        #expect(statuses == [100, 200])
    }

    @Test func embeddedDefaultServesTheMockWithAStableDemoKey() async throws {
        var config = EmbeddedDefault.config(environment: [:])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-default-\(UUID().uuidString)").path
        config.dataDirectory = dir
        config.listen.port = 0
        config.pluginsDirectory = dir + "/none"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let first = try await Gateway.make(config: config, logger: logger)
        let port = try await first.start()
        let key = try #require(first.demoKey)
        let client = TestClient()
        let answer = try await client.fetch(port: port, path: "/v1/chat/completions", key: key,
                                            json: #"{"model":"mock-echo","messages":[{"role":"user","content":"hello world"}]}"#)
        #expect(answer.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "echo: hello world")
        #expect(answer.json?["usage"]?["total_tokens"]?.int64Value == 5)
        let models = try await client.fetch(port: port, method: "GET", path: "/v1/models", headers: [("authorization", "Bearer \(key)")])
        #expect(models.json?["data"]?[0]?["id"]?.stringValue == "mock-echo")
        await first.stop()

        let second = try await Gateway.make(config: config, logger: logger)
        #expect(second.demoKey == key, "a restart keeps the demo key")
        #expect(try await second.storage.keys().map(\.name) == ["demo"])
        await second.stop()
        await client.shutdown()
    }
}
