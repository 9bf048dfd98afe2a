import Foundation
import Testing
@testable import BedrockPlugin
@testable import TollgateCore

/// `POST /v1/messages/count_tokens` (and Gemini's `:countTokens`) on `bedrock` channels, through
/// the Bedrock plugin to a mock of Bedrock's CountTokens (`POST /model/{id}/count-tokens`) that
/// checks the SigV4 signature and the input's shape as AWS does and answers `{"inputTokens": N}`.
@Suite struct BedrockCountTokensTests {
    static let countPath = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens"

    // MARK: The mock CountTokens

    /// Words of the system prompt and messages, 4 per message, 20 per tool.
    static func mockCount(_ request: JSONValue) -> Int64 {
        let words = CountTokensChecks.words(in: [request["system"], request["messages"]], keys: ["text", "content", "system"])
        let tools = (request["tools"] ?? request["toolConfig"]?["tools"])?.arrayValue?.count ?? 0
        return Int64(words + 4 * (request["messages"]?.arrayValue?.count ?? 0) + 20 * tools)
    }

    /// Bedrock's CountTokens: a signed POST whose `input` is exactly one of `converse` (the members
    /// ConverseTokensRequest has) or `invokeModel` (`body`: base64 of the model's InvokeModel body).
    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            func refuse(_ status: Int, _ type: String, _ message: String) {
                respond.json(status, JSONValue.object(["message": .string(message)]).serialized().asString, headers: [("x-amzn-ErrorType", type)])
            }
            guard request.uri == countPath else { return refuse(404, "UnknownOperationException", "no route \(request.uri)") }
            let region = request.header("authorization")?.components(separatedBy: "/").dropFirst(2).first ?? ""
            if let failure = BedrockUpstreamTests.verifySignature(request, region: region, service: "bedrock", token: true) {
                return refuse(403, "InvalidSignatureException", failure)
            }
            guard let input = request.json?["input"]?.objectValue, input.count == 1 else {
                return refuse(400, "ValidationException", "input must hold exactly one of converse or invokeModel")
            }
            let counted: JSONValue
            switch (input[0].key, input[0].value) {
            case ("converse", let converse):
                let allowed: Set = ["messages", "system", "toolConfig", "additionalModelRequestFields"]
                guard let members = converse.objectValue, members.allSatisfy({ allowed.contains($0.key) }) else {
                    return refuse(400, "ValidationException", "Malformed input request: extraneous key in converse")
                }
                counted = converse
            case ("invokeModel", let invoke):
                guard let encoded = invoke["body"]?.stringValue, let bytes = Data(base64Encoded: encoded),
                      let body = try? JSONParser.parse(Array(bytes)), BedrockUpstreamTests.isBedrockAnthropicBody(body) else {
                    return refuse(400, "ValidationException", "Malformed input request: the body is not a valid InvokeModel body")
                }
                counted = body
            default:
                return refuse(400, "ValidationException", "unknown input member \(input[0].key)")
            }
            switch firstText(counted) {
            case "invalid": refuse(400, "ValidationException", "The provided model doesn't support counting tokens.")
            case "throttle": refuse(429, "ThrottlingException", "Too many requests, please wait before trying again.")
            case "no count": respond.json(200, #"{"tokens":12}"#)
            case "not json": respond.json(200, "<html>gateway timeout</html>")
            case "huge": respond.json(200, #"{"inputTokens":123456789012345678901234567890}"#)
            case "negative": respond.json(200, #"{"inputTokens":-3}"#)
            default: respond.json(200, #"{"inputTokens":\#(mockCount(counted))}"#, headers: [("x-amzn-RequestId", "count-req-1")])
            }
        }
    }

    static func firstText(_ request: JSONValue) -> String? {
        let content = request["messages"]?[0]?["content"]
        return content?.stringValue ?? content?[0]?["text"]?.stringValue
    }

    // MARK: Tests

    @Test func aConverseChannelCountsWithConverseInput() async throws {
        let upstream = try await Self.upstream()
        let harness = try await BedrockUpstreamTests.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await CountTokensChecks.count(harness, model: "claude-sonnet")
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"input_tokens":31}"#, "3 + 4 words, 4 for the message, 20 for the tool")
        #expect(response.header("x-tollgate-estimated") == nil)
        #expect(response.header("x-tollgate-channel") == "aws-bedrock")
        #expect(response.header("x-tollgate-cost") == nil)
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.countPath && sent.header("content-type") == "application/json")
        #expect(BedrockUpstreamTests.verifySignature(sent, region: "us-east-1", service: "bedrock", token: true) == nil)
        let converse = try #require(sent.json?["input"]?["converse"])
        #expect(converse["system"]?.jsonString == #"[{"text":"Answer in French."}]"#)
        #expect(converse["messages"]?.jsonString == #"[{"role":"user","content":[{"text":"Say hello to everyone"}]}]"#)
        #expect(converse["toolConfig"]?["tools"]?[0]?["toolSpec"]?["name"]?.stringValue == "get_weather")
        #expect(converse["inferenceConfig"] == nil)

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.route == "count_tokens" && record.status == 200 && record.channel == "aws-bedrock")
        #expect(record.bill == .unpriced && record.usage.isEmpty)

        // A Gemini client's count goes the same way, answered in Gemini's shape.
        let gemini = try await harness.client.fetch(
            port: harness.port, path: "/v1beta/models/claude-sonnet:countTokens",
            headers: [("x-goog-api-key", GatewayHarness.clientKey), ("content-type", "application/json")],
            body: Array(#"{"contents":[{"role":"user","parts":[{"text":"Say hello to everyone"}]}]}"#.utf8))
        #expect(gemini.status == 200, "\(gemini.text)")
        #expect(gemini.text == #"{"totalTokens":8}"#)
        #expect(gemini.header("x-tollgate-estimated") == nil)
    }

    @Test func anInvokeChannelCountsTheInvokeModelBody() async throws {
        let upstream = try await Self.upstream()
        let harness = try await BedrockUpstreamTests.startInvoke(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await CountTokensChecks.count(harness, model: "claude-invoke", headers: [("anthropic-beta", "token-efficient-tools-2025-02-19")])
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"input_tokens":31}"#)
        #expect(response.header("x-tollgate-estimated") == nil)
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.countPath)
        #expect(BedrockUpstreamTests.verifySignature(sent, region: "us-west-2", service: "bedrock", token: true) == nil)
        let encoded = try #require(sent.json?["input"]?["invokeModel"]?["body"]?.stringValue)
        let body = try JSONParser.parse(Array(try #require(Data(base64Encoded: encoded))))
        #expect(BedrockUpstreamTests.isBedrockAnthropicBody(body), "anthropic_version and max_tokens set, model removed")
        #expect(body["anthropic_beta"]?.jsonString == #"["token-efficient-tools-2025-02-19"]"#)
        #expect(body["tools"]?[0]?["name"]?.stringValue == "get_weather")

        // A model InvokeModel cannot serve has no counter here: estimated, nothing sent.
        let before = upstream.requests.count
        let nova = try await CountTokensChecks.count(harness, model: "nova")
        #expect(nova.status == 200 && nova.header("x-tollgate-estimated") == "true", "\(nova.text)")
        #expect(upstream.requests.count == before)
    }

    @Test func refusalsAndBadAnswersComeBackAsAnthropicErrors() async throws {
        let upstream = try await Self.upstream()
        let converse = try await BedrockUpstreamTests.start(upstream)
        let invoke = try await BedrockUpstreamTests.startInvoke(upstream)
        defer { Task { await converse.stop(); await invoke.stop(); await upstream.stop() } }

        try await CountTokensChecks.expectRefusalsAndBadAnswers(converse, model: "claude-sonnet", refusal: "doesn't support counting tokens")
        try await CountTokensChecks.expectRefusalsAndBadAnswers(invoke, model: "claude-invoke", refusal: "doesn't support counting tokens")
    }

    @Test func anUnreachableBedrockIsA502InAnthropicsShape() async throws {
        let harness = try await BedrockUpstreamTests.start(baseURL: "http://127.0.0.1:\(try await ScriptedUpstream.closedPort())")
        defer { Task { await harness.stop() } }

        let response = try await CountTokensChecks.count(harness, model: "claude-sonnet")
        #expect(response.status == 502, "\(response.text)")
        #expect(response.json?["type"]?.stringValue == "error" && response.json?["error"]?["type"]?.stringValue == "api_error")
        #expect(response.header("x-tollgate-estimated") == nil)
    }
}

