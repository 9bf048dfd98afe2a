import Foundation
import NIOConcurrencyHelpers
import Testing
import TollgatePluginKit
@testable import TollgateCore

/// A Swift plugin written with the kit, for a small made-up provider: it fetches a token through
/// the host's side request (so it builds on the blocking pool), sends `{"prompt","stream"}` to
/// `/generate`, and reads `{"output","tokens_in","tokens_out"}` or NDJSON `{"delta"}` lines.
final class LinesPlugin: AdaptorPlugin {
    static let name = "kit-lines"
    static let version = "1.2.3"
    static let providerIDs = ["kit-lines"]
    static let buildMayBlock = true

    init(providerID: String, apiVersion: String) throws(PluginError) {}

    func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel {
        guard let base = settings["base_url"]?.stringValue else { throw PluginError(.config, "base_url is required") }
        return LinesChannel(base: base, readsRequest: settings["options"]?["reads_request_body"]?.stringValue == "true")
    }
}

final class LinesChannel: AdaptorChannel, @unchecked Sendable {
    let base: String
    /// Whether it asks the kit for the client's body and the upstream's headers with answers (it
    /// reports their sizes back).
    let readsRequest: Bool
    private let token = NIOLockedValueBox<String?>(nil)
    init(base: String, readsRequest: Bool) {
        self.base = base
        self.readsRequest = readsRequest
    }

    func readsRequestBody(_ operation: TollgatePluginKit.Operation) -> Bool { readsRequest }
    func readsAnswerHeaders(_ operation: TollgatePluginKit.Operation) -> Bool { readsRequest }

    func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        let body: JSONValue
        do { body = try JSONParser.parse(request.body) } catch { throw PluginError(.invalidInput, "body is not JSON") }
        let prompt = body["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
        let bearer = try currentToken()
        return PluginUpstreamRequest(url: base + "/generate", headers: [("Authorization", "Bearer \(bearer)"), ("Content-Type", "application/json")],
                                     body: JSONValue.object(["prompt": .string(prompt), "stream": .bool(request.stream)]).serialized())
    }

    func currentToken() throws(PluginError) -> String {
        if let cached = token.withLockedValue({ $0 }) { return cached }
        let answer = try Host.httpCall(url: base + "/token", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        guard answer.status == 200, let value = (try? JSONParser.parse(answer.body))?["token"]?.stringValue else {
            throw PluginError(.auth, "token exchange failed with HTTP \(answer.status)")
        }
        token.withLockedValue { $0 = value }
        return value
    }

    func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        guard let json = try? JSONParser.parse(response.body) else { throw PluginError(.upstream, "answer is not JSON") }
        guard response.status == 200 else {
            let message = json["error"]?.stringValue ?? "HTTP \(response.status)"
            return PluginConvertedResponse(status: response.status, body: JSONValue.object(["error": .object(["message": .string(message), "type": .string("upstream_error")])]).serialized())
        }
        var usage = PluginUsage()
        usage.prompt = json["tokens_in"]?.int64Value
        usage.completion = json["tokens_out"]?.int64Value
        let body = JSONValue.object([
            "object": .string("chat.completion"), "model": .string(response.model),
            "choices": .array([.object(["index": .int(0), "message": .object(["role": .string("assistant"), "content": json["output"] ?? .null]),
                                        "finish_reason": .string("stop")])]),
            "usage": .object(["prompt_tokens": .int(usage.prompt ?? 0), "completion_tokens": .int(usage.completion ?? 0)]),
            "request_bytes": .int(Int64(response.requestBody.count)), "answer_headers": .int(response.headers.count),
        ])
        return PluginConvertedResponse(status: 200, body: body.serialized(), usage: usage)
    }

    func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream {
        LinesStream(model: params.model, requestBytes: params.requestBody.count, answerHeaders: params.headers.count)
    }
}

final class LinesStream: AdaptorStream {
    let model: String
    let requestBytes: Int
    let answerHeaders: Int
    var pending: [UInt8] = []
    var done = false
    init(model: String, requestBytes: Int, answerHeaders: Int) {
        self.model = model
        self.requestBytes = requestBytes
        self.answerHeaders = answerHeaders
    }

    func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        pending += chunk
        var out: [UInt8] = []
        while let newline = pending.firstIndex(of: 0x0A) {
            let line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            guard let json = try? JSONParser.parse(line) else { throw PluginError(.upstream, "bad line", output: out) }
            if json["done"]?.boolValue == true {
                usage.prompt = json["tokens_in"]?.int64Value
                usage.completion = json["tokens_out"]?.int64Value
                done = true
                out += Array("data: [DONE]\n\n".utf8)
            } else {
                let chunk = JSONValue.object(["object": .string("chat.completion.chunk"), "model": .string(model),
                                              "request_bytes": .int(Int64(requestBytes)), "answer_headers": .int(answerHeaders),
                                              "choices": .array([.object(["index": .int(0), "delta": .object(["content": json["delta"] ?? .null])])])])
                out += Array("data: ".utf8) + chunk.serialized() + Array("\n\n".utf8)
            }
        }
        return out
    }

    func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        guard done else { throw PluginError(.upstream, "stream ended before done") }
        return []
    }
}

@_cdecl("tollgate_test_lines_entry")
func linesEntry() -> UnsafeRawPointer { PluginExport.adaptor(LinesPlugin.self) }

@Suite(.serialized) struct KitPluginTests {
    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            switch request.uri {
            case "/token":
                respond.json(200, #"{"token":"tok-42"}"#)
            case "/generate" where request.json?["stream"]?.boolValue == true:
                respond.head(200, [("content-type", "application/x-ndjson")])
                respond.chunk(#"{"delta":"Hel"}"# + "\n" + #"{"del"#)
                respond.chunk(#"ta":"lo"}"# + "\n")
                respond.chunk(#"{"done":true,"tokens_in":9,"tokens_out":2}"# + "\n")
                respond.end()
            case "/generate" where request.json?["prompt"]?.stringValue == "fail":
                respond.json(503, #"{"error":"overloaded"}"#, headers: [("retry-after", "7")])
            default:
                respond.json(200, #"{"output":"Hello","tokens_in":9,"tokens_out":2}"#)
            }
        }
    }

    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        channels:
          - { name: lines, provider: kit-lines, base_url: "\(upstream.baseURL)", models: [lines-1] }
          - { name: lines-reader, provider: kit-lines, base_url: "\(upstream.baseURL)", models: [lines-2],
              options: { reads_request_body: true } }
        """, linkedPlugins: [("linked:kit-lines", linesEntry)])
    }

    @Test func swiftPluginServesThroughTheGatewayWithASideRequest() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(harness.gateway.registry.reports.last?.status == .loaded(kind: .adaptor, name: "kit-lines", version: "1.2.3", providers: ["kit-lines"]))

        let first = try await harness.chat(#"{"model":"lines-1","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(first.status == 200, "\(first.text)")
        #expect(first.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello")
        #expect(first.header("x-tollgate-channel") == "lines")
        let record = await harness.records.waitFor(first.header("x-request-id"))
        #expect(record?.usage.prompt == 9 && record?.usage.completion == 2)

        let streamed = try await harness.chat(#"{"model":"lines-1","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(streamed.status == 200)
        #expect(streamed.header("content-type") == "text/event-stream")
        #expect(streamed.text.contains(#""delta":{"content":"Hel"}"#) && streamed.text.contains(#""delta":{"content":"lo"}"#))
        #expect(streamed.text.hasSuffix("data: [DONE]\n\n"))
        let streamRecord = await harness.records.waitFor(streamed.header("x-request-id"))
        #expect(streamRecord?.usage.completion == 2)

        let generate = upstream.requests.filter { $0.uri == "/generate" }
        #expect(generate.count == 2)
        #expect(generate.allSatisfy { $0.header("authorization") == "Bearer tok-42" })
        #expect(generate[0].json == .object(["prompt": .string("hi"), "stream": .bool(false)]))
        #expect(upstream.requests.filter { $0.uri == "/token" }.count == 1, "the token is cached by the channel")
    }

    /// The kit copies the client's body and parses the upstream's headers into answer hooks
    /// only for a channel that reads them.
    @Test func answerHooksSeeTheRequestBodyAndHeadersOnlyWhenTheChannelReadsThem() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        for (model, reads) in [("lines-1", false), ("lines-2", true)] {
            let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#
            let complete = try await harness.chat(body)
            #expect(complete.status == 200, "\(complete.text)")
            #expect(complete.json?["request_bytes"]?.int64Value == (reads ? Int64(body.utf8.count) : 0), "\(model)")
            // The mock's answer carries content-type and content-length at least.
            #expect(complete.json?["answer_headers"]?.int64Value.map { reads ? $0 >= 2 : $0 == 0 } == true, "\(model): \(complete.text)")
            let streamBody = #"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            let streamed = try await harness.chat(streamBody)
            #expect(streamed.status == 200)
            #expect(streamed.text.contains(#""request_bytes":\#(reads ? streamBody.utf8.count : 0)"#), "\(model): \(streamed.text)")
            #expect(streamed.text.contains(#""answer_headers":0"#) != reads, "\(model): \(streamed.text)")
        }
    }

    @Test func pluginErrorsReachTheClientInOpenAIStyle() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let failed = try await harness.chat(#"{"model":"lines-1","messages":[{"role":"user","content":"fail"}]}"#)
        #expect(failed.status == 503)
        #expect(failed.json?["error"]?["message"]?.stringValue == "overloaded")
        #expect(failed.header("retry-after") == "7", "a converted answer keeps the upstream's retry-after")
        let invalid = try await harness.chat(#"{"model":"lines-1","messages":"#)
        #expect(invalid.status == 400)
    }
}
