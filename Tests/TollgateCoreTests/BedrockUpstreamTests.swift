import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import BedrockPlugin
@testable import TollgateCore

/// The Bedrock plugin's shared object, loaded from the build folder by dlopen, between an OpenAI
/// client and a mock speaking Bedrock's and SageMaker's real wire formats: JSON for Converse and
/// InvokeEndpoint, `application/vnd.amazon.eventstream` frames for the streams. The mock checks
/// every request's SigV4 signature as AWS would, by recomputing it from what it received.
@Suite struct BedrockUpstreamTests {
    static let modelID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    static let conversePath = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    static let credentials = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                            sessionToken: "IQoJb3JpZ2luX2VjEXAMPLE//token=")

    // MARK: The mock AWS

    static let textAnswer = #"{"metrics":{"latencyMs":350},"output":{"message":{"role":"assistant","content":[{"text":"Bonjour !"}]}},"stopReason":"end_turn","usage":{"inputTokens":11,"outputTokens":4,"totalTokens":1215,"cacheReadInputTokens":1000,"cacheWriteInputTokens":200}}"#
    static let toolAnswer = #"{"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},{"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"get_weather","input":{"city":"Paris"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":420,"outputTokens":52,"totalTokens":472}}"#

    static func event(_ type: String, _ json: String) -> EventStreamMessage { .event(type, payload: Array(json.utf8)) }

    static let textStream: [EventStreamMessage] = [
        event("messageStart", #"{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW","role":"assistant"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Bon"},"p":"abcdefghijklm"}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"jour !"},"p":"abcdefgh"}"#),
        event("contentBlockStop", #"{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDEF"}"#),
        event("messageStop", #"{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0","stopReason":"end_turn"}"#),
        event("metadata", #"{"metrics":{"latencyMs":401},"p":"abc","usage":{"cacheReadInputTokens":1000,"cacheWriteInputTokens":200,"inputTokens":11,"outputTokens":4,"totalTokens":1215}}"#),
    ]

    static let toolStream: [EventStreamMessage] = [
        event("messageStart", #"{"role":"assistant"}"#),
        event("contentBlockStart", #"{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_abc","name":"get_weather"}}}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"city\": "}}}"#),
        event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{"input":"\"Paris\"}"}}}"#),
        event("contentBlockStop", #"{"contentBlockIndex":0}"#),
        event("messageStop", #"{"stopReason":"tool_use"}"#),
        event("metadata", #"{"metrics":{"latencyMs":99},"usage":{"inputTokens":380,"outputTokens":31,"totalTokens":411}}"#),
    ]

    static let sageMakerAnswer = #"{"id":"chatcmpl-sm","object":"chat.completion","created":1720000000,"model":"lmi","choices":[{"index":0,"message":{"role":"assistant","content":"Hi from SageMaker"},"finish_reason":"stop"}],"usage":{"prompt_tokens":17,"completion_tokens":5,"total_tokens":22}}"#
    static let sageMakerSSE = #"data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi from "}}]}"# + "\n\n"
        + #"data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"SageMaker"},"finish_reason":"stop"}]}"# + "\n\n"
        + #"data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":17,"completion_tokens":5,"total_tokens":22}}"# + "\n\n"
        + "data: [DONE]\n\n"

    /// Writes event-stream frames in uneven pieces, as a network would.
    static func sendFrames(_ messages: [EventStreamMessage], _ respond: MockResponder, headers: [(String, String)] = []) {
        let bytes = (try? messages.flatMap { try EventStreamEncoder.encode($0) }) ?? []
        respond.head(200, [("content-type", "application/vnd.amazon.eventstream"), ("x-amzn-requestid", "stream-req-1")] + headers)
        var offset = 0
        for size in [5, 7, 200, 1, 64] + Array(repeating: 97, count: bytes.count / 97 + 1) where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            respond.chunk(Array(bytes[offset..<end]))
            offset = end
        }
        respond.end()
    }

    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let body = request.json
            switch request.uri {
            case conversePath where body?["toolConfig"] != nil:
                respond.json(200, toolAnswer, headers: [("x-amzn-RequestId", "tool-req-1")])
            case conversePath where body?["messages"]?[0]?["content"]?[0]?["text"]?.stringValue == "invalid":
                respond.json(400, #"{"message":"Malformed input request: #: extraneous key [foo] is not permitted, please reformat your input and try again."}"#,
                             headers: [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")])
            case conversePath:
                respond.json(200, textAnswer, headers: [("x-amzn-RequestId", "b7e1e4f0-text")])
            case conversePath + "-stream" where body?["messages"]?[0]?["content"]?[0]?["text"]?.stringValue == "invalid":
                respond.json(400, #"{"message":"The provided model identifier is invalid."}"#, headers: [("x-amzn-ErrorType", "ValidationException")])
            case conversePath + "-stream" where body?["toolConfig"] != nil:
                sendFrames(toolStream, respond)
            case conversePath + "-stream" where body?["messages"]?[0]?["content"]?[0]?["text"]?.stringValue == "throttle":
                sendFrames(Array(textStream.prefix(2)) + [.exception("throttlingException", message: "Too many tokens, please wait before trying again.")], respond)
            case conversePath + "-stream":
                sendFrames(textStream, respond)
            case "/endpoints/lmi-endpoint/invocations":
                respond.json(200, sageMakerAnswer)
            case "/endpoints/bare-endpoint/invocations":
                respond.json(200, #"{"generated_text":"Hello there"}"#)
            case "/endpoints/lmi-endpoint/invocations-response-stream":
                let sse = Array(sageMakerSSE.utf8)
                // SageMaker cuts the container's bytes anywhere, not on event boundaries.
                let parts = [sse[0..<40], sse[40..<41], sse[41..<170], sse[170...]].map {
                    EventStreamMessage.event("PayloadPart", payload: Array($0), contentType: "application/octet-stream")
                }
                sendFrames(parts, respond, headers: [("x-amzn-sagemaker-content-type", "text/event-stream")])
            default:
                respond.json(404, #"{"message":"no route \#(request.uri)"}"#, headers: [("x-amzn-ErrorType", "UnknownOperationException")])
            }
        }
    }

    static func start(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await start(baseURL: upstream.baseURL)
    }

    static func start(baseURL: String) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        channels:
          - name: aws-bedrock
            provider: bedrock
            base_url: "\(baseURL)"
            credentials:
              access_key_id: \(credentials.accessKeyID)
              secret_access_key: "\(credentials.secretAccessKey)"
              session_token: "\(credentials.sessionToken ?? "")"
            options: { region: us-east-1 }
            models: [claude-sonnet]
            model_map: { claude-sonnet: "\(modelID)" }
          - name: aws-sagemaker
            provider: sagemaker
            base_url: "\(baseURL)"
            credentials: { access_key_id: \(credentials.accessKeyID), secret_access_key: "\(credentials.secretAccessKey)" }
            options: { region: eu-west-1 }
            models: [lmi-endpoint, bare-endpoint]
        """, pluginsDirectory: BuildProducts.directory)
    }

    /// Recomputes the request's signature from what the mock received, as AWS does, and returns
    /// the failure (nil when it matches).
    static func verifySignature(_ request: ReceivedRequest, region: String, service: String, token: Bool) -> String? {
        guard let authorization = request.header("authorization"), let date = request.header("x-amz-date"),
              let time = SigningTime(amzDate: date), let host = request.header("host") else {
            return "missing Authorization, X-Amz-Date or Host"
        }
        guard abs(time.unixSeconds - Int64(Date().timeIntervalSince1970)) < 300 else { return "X-Amz-Date \(date) is not now" }
        guard let signedList = authorization.components(separatedBy: "SignedHeaders=").last?.components(separatedBy: ",").first else {
            return "no SignedHeaders in \(authorization)"
        }
        let signed = Set(signedList.split(separator: ";").map(String.init))
        let headers = request.headers.filter { signed.contains($0.0.lowercased()) }
        var credentials = Self.credentials
        if !token { credentials.sessionToken = nil }
        do {
            let signer = try SigV4Signer(credentials: credentials, region: region, service: service)
            let expected = try signer.sign(method: request.method, url: "http://\(host)\(request.uri)", headers: headers, body: request.body, at: time)
            return expected.authorization == authorization ? nil : "expected \(expected.authorization), got \(authorization)"
        } catch {
            return "\(error)"
        }
    }

    static func events(_ response: TestResponse) throws -> (events: [JSONValue], done: Bool) {
        var parser = SSEParser()
        var events: [JSONValue] = []
        var done = false
        try parser.feed(response.body) { event in
            if event.isDone { done = true } else if let json = try? JSONParser.parse(event.data) { events.append(json) }
        }
        return (events, done)
    }

    // MARK: Bedrock Converse

    @Test func convertsAConverseChatAndSignsIt() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"claude-sonnet","temperature":0.3,"max_tokens":300,"stop":["\n\nHuman:"],"messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":[{"type":"text","text":"Say hello"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}"#)
        #expect(response.status == 200, "\(response.text)")
        let json = try #require(response.json)
        #expect(json["id"]?.stringValue == "chatcmpl-b7e1e4f0-text")
        #expect(json["object"]?.stringValue == "chat.completion")
        #expect(json["model"]?.stringValue == "claude-sonnet")
        #expect(json["choices"]?[0]?["message"]?["content"]?.stringValue == "Bonjour !")
        #expect(json["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(json["usage"]?["prompt_tokens"]?.int64Value == 1211)
        #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 1000)

        let sent = try #require(upstream.requests.last)
        #expect(sent.method == "POST")
        #expect(sent.uri == Self.conversePath)
        #expect(sent.header("content-type") == "application/json")
        #expect(sent.header("accept") == "application/json")
        #expect(sent.header("x-amz-security-token") == Self.credentials.sessionToken)
        #expect(sent.header("authorization")?.contains("Credential=AKIAIOSFODNN7EXAMPLE/") == true)
        #expect(Self.verifySignature(sent, region: "us-east-1", service: "bedrock", token: true) == nil)
        #expect(sent.json?.jsonString == #"{"messages":[{"role":"user","content":[{"text":"Say hello"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]}],"system":[{"text":"Answer in French."}],"inferenceConfig":{"maxTokens":300,"temperature":0.3,"stopSequences":["\n\nHuman:"]}}"#)

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.channel == "aws-bedrock")
        #expect(record.usage.prompt == 1211, "inputTokens 11 + cache read 1000 + cache write 200")
        #expect(record.usage.completion == 4)
        #expect(record.usage.cacheRead == 1000)
        #expect(record.usage.cacheCreation == 200)
        #expect(record.usage.estimated == false)
    }

    @Test func convertsToolsBothWays() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"""
        {"model":"claude-sonnet","tool_choice":{"type":"function","function":{"name":"get_weather"}},
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
         "messages":[{"role":"user","content":"Weather in Paris and Lyon?"},
                     {"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lyon\"}"}},
                                                       {"id":"t2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Nice\"}"}}]},
                     {"role":"tool","tool_call_id":"t1","content":"21C"},{"role":"tool","tool_call_id":"t2","content":"25C"}]}
        """#)
        #expect(response.status == 200, "\(response.text)")
        let message = response.json?["choices"]?[0]?["message"]
        #expect(message?["content"]?.stringValue == "Let me check.")
        #expect(message?["tool_calls"]?.jsonString == #"[{"id":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]"#)
        #expect(response.json?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")

        let sent = try #require(upstream.requests.last)
        #expect(Self.verifySignature(sent, region: "us-east-1", service: "bedrock", token: true) == nil)
        #expect(sent.json?["toolConfig"]?.jsonString == #"{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather for a city","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],"toolChoice":{"tool":{"name":"get_weather"}}}"#)
        #expect(sent.json?["messages"]?.jsonString == #"[{"role":"user","content":[{"text":"Weather in Paris and Lyon?"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Lyon"}}},{"toolUse":{"toolUseId":"t2","name":"get_weather","input":{"city":"Nice"}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"text":"21C"}]}},{"toolResult":{"toolUseId":"t2","content":[{"text":"25C"}]}}]}]"#)

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.usage.prompt == 420 && record.usage.completion == 52)
        #expect(record.usage.cacheRead == nil)
    }

    @Test func convertsAConverseStream() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"claude-sonnet","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello"}]}"#)
        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/event-stream")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.conversePath + "-stream")
        #expect(sent.header("accept") == "application/vnd.amazon.eventstream")
        #expect(Self.verifySignature(sent, region: "us-east-1", service: "bedrock", token: true) == nil)
        #expect(sent.json?.jsonString == #"{"messages":[{"role":"user","content":[{"text":"Say hello"}]}]}"#)

        let (events, done) = try Self.events(response)
        #expect(done)
        #expect(events.allSatisfy { $0["id"]?.stringValue == "chatcmpl-stream-req-1" && $0["model"]?.stringValue == "claude-sonnet" })
        #expect(events.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
        #expect(events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Bonjour !")
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(events.last?["choices"] == .array([]))
        #expect(events.last?["usage"]?.jsonString == #"{"prompt_tokens":1211,"completion_tokens":4,"total_tokens":1215,"prompt_tokens_details":{"cached_tokens":1000},"cache_creation_input_tokens":200}"#)

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.usage.prompt == 1211 && record.usage.completion == 4)
        #expect(record.usage.cacheRead == 1000 && record.usage.cacheCreation == 200)
        #expect(record.status == 200)
    }

    @Test func convertsAStreamedToolCall() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"claude-sonnet","stream":true,"tool_choice":"auto","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"messages":[{"role":"user","content":"Weather in Paris?"}]}"#)
        #expect(response.status == 200)
        #expect(upstream.requests.last?.json?["toolConfig"]?["toolChoice"]?.jsonString == #"{"auto":{}}"#)
        let (events, done) = try Self.events(response)
        #expect(done)
        let calls = events.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
        #expect(calls.first?["id"]?.stringValue == "tooluse_abc")
        #expect(calls.first?["function"]?["name"]?.stringValue == "get_weather")
        #expect(calls.allSatisfy { $0["index"]?.int64Value == 0 })
        #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city": "Paris"}"#)
        #expect(events.last?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        #expect(!response.text.contains(#""usage""#), "no usage chunk unless asked")

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.usage.prompt == 380 && record.usage.completion == 31)
    }

    @Test func passesBedrockErrorsOn() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let invalid = try await harness.chat(#"{"model":"claude-sonnet","messages":[{"role":"user","content":"invalid"}]}"#)
        #expect(invalid.status == 400)
        #expect(invalid.json?["error"]?["type"]?.stringValue == "ValidationException")
        #expect(invalid.json?["error"]?["message"]?.stringValue?.hasPrefix("Malformed input request") == true)

        let invalidStream = try await harness.chat(#"{"model":"claude-sonnet","stream":true,"messages":[{"role":"user","content":"invalid"}]}"#)
        #expect(invalidStream.status == 400, "an error before the stream starts is a complete answer")
        #expect(invalidStream.json?["error"]?.jsonString == #"{"message":"The provided model identifier is invalid.","type":"ValidationException","code":null}"#)

        let throttled = try await harness.chat(#"{"model":"claude-sonnet","stream":true,"messages":[{"role":"user","content":"throttle"}]}"#)
        #expect(throttled.status == 200, "the stream had started")
        #expect(throttled.text.contains(#""content":"Bon""#))
        #expect(throttled.text.contains("throttlingException: Too many tokens, please wait before trying again."))
        #expect(!throttled.text.contains("[DONE]"))

        let image = try await harness.chat(#"{"model":"claude-sonnet","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}"#)
        #expect(image.status == 400)
        #expect(image.json?["error"]?["message"]?.stringValue?.hasPrefix("bedrock:") == true)
    }

    @Test func servesAnthropicClientsThroughConverse() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.client.fetch(
            port: harness.port, path: "/v1/messages",
            headers: [("x-api-key", GatewayHarness.clientKey), ("anthropic-version", "2023-06-01"), ("content-type", "application/json")],
            body: Array(#"{"model":"claude-sonnet","max_tokens":100,"system":"Answer in French.","messages":[{"role":"user","content":"Say hello"}]}"#.utf8))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["type"]?.stringValue == "message")
        #expect(response.json?["content"]?[0]?["text"]?.stringValue == "Bonjour !")
        #expect(upstream.requests.last?.json?["system"]?.jsonString == #"[{"text":"Answer in French."}]"#)
    }

    // MARK: SageMaker

    @Test func invokesASageMakerEndpointBothWays() async throws {
        let upstream = try await Self.upstream()
        let harness = try await Self.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let plainBody = #"{"model":"lmi-endpoint","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}"#
        let plain = try await harness.chat(plainBody)
        #expect(plain.status == 200, "\(plain.text)")
        #expect(plain.text == Self.sageMakerAnswer, "the container's answer passes through")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == "/endpoints/lmi-endpoint/invocations")
        #expect(sent.body == Array(plainBody.utf8), "the body passes through")
        #expect(sent.header("x-amz-security-token") == nil)
        #expect(Self.verifySignature(sent, region: "eu-west-1", service: "sagemaker", token: false) == nil)
        let plainRecord = try #require(await harness.records.waitFor(plain.header("x-request-id")))
        #expect(plainRecord.channel == "aws-sagemaker")
        #expect(plainRecord.usage.prompt == 17 && plainRecord.usage.completion == 5)
        #expect(plainRecord.usage.estimated == false)

        let streamBody = #"{"model":"lmi-endpoint","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#
        let streamed = try await harness.chat(streamBody)
        #expect(streamed.status == 200)
        #expect(streamed.text == Self.sageMakerSSE, "the container's stream passes through, PayloadParts joined")
        let streamSent = try #require(upstream.requests.last)
        #expect(streamSent.uri == "/endpoints/lmi-endpoint/invocations-response-stream")
        #expect(streamSent.body == Array(streamBody.utf8))
        #expect(Self.verifySignature(streamSent, region: "eu-west-1", service: "sagemaker", token: false) == nil)
        let streamRecord = try #require(await harness.records.waitFor(streamed.header("x-request-id")))
        #expect(streamRecord.usage.prompt == 17 && streamRecord.usage.completion == 5)

        // A container that reports no usage: the prompt is estimated from the client's body, which
        // the plugin reads with the answer (the channel's readsRequestBody).
        let bareBody = #"{"model":"bare-endpoint","messages":[{"role":"user","content":"estimate me"}]}"#
        let bare = try await harness.chat(bareBody)
        #expect(bare.status == 200, "\(bare.text)")
        let bareRecord = try #require(await harness.records.waitFor(bare.header("x-request-id")))
        #expect(bareRecord.usage.estimated)
        #expect(bareRecord.usage.prompt == Int64((bareBody.utf8.count + 3) / 4))
    }
}

// MARK: - Bedrock InvokeModel (options.api: invoke)

/// The same mock AWS speaking InvokeModel for an Anthropic model: an Anthropic Messages answer as
/// JSON, and for the stream `chunk` frames whose `{"bytes": base64}` payloads are Anthropic events.
extension BedrockUpstreamTests {
    static let invokePath = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke"
    static let invokeStreamPath = invokePath + "-with-response-stream"

    static let anthropicAnswer = #"{"id":"msg_bdrk_01XYZ","type":"message","role":"assistant","model":"claude-3-5-sonnet-20240620","content":[{"type":"text","text":"Bonjour !"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":11,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":4}}"#

    static let anthropicEvents: [String] = [
        #"{"type":"message_start","message":{"id":"msg_bdrk_01S","type":"message","role":"assistant","model":"claude-3-5-sonnet-20240620","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":1}}}"#,
        #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bon"}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"jour !"}}"#,
        #"{"type":"content_block_stop","index":0}"#,
        #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}"#,
        #"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":11,"outputTokenCount":4,"invocationLatency":640,"firstByteLatency":210}}"#,
    ]

    static var anthropicSSE: String {
        anthropicEvents.map { "event: \((try? JSONParser.parse($0))?["type"]?.stringValue ?? "")\ndata: \($0)\n\n" }.joined()
    }

    /// What InvokeModel's Anthropic schema takes: `anthropic_version`, no `model`, no `stream`.
    static func isBedrockAnthropicBody(_ body: JSONValue?) -> Bool {
        body?["anthropic_version"]?.stringValue == "bedrock-2023-05-31" && body?["model"] == nil && body?["stream"] == nil
            && body?["max_tokens"]?.int64Value != nil
    }

    static func invokeUpstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let body = request.json
            let firstText = body?["messages"]?[0]?["content"]?.stringValue
            switch request.uri {
            case invokePath where !isBedrockAnthropicBody(body):
                respond.json(400, #"{"message":"Malformed input request: extraneous key [model] is not permitted"}"#,
                             headers: [("x-amzn-ErrorType", "ValidationException")])
            case invokePath where firstText == "invalid":
                respond.json(400, #"{"message":"messages: roles must alternate"}"#,
                             headers: [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")])
            case invokePath:
                respond.json(200, anthropicAnswer, headers: [("x-amzn-RequestId", "invoke-req-1"),
                                                             ("X-Amzn-Bedrock-Input-Token-Count", "11"), ("X-Amzn-Bedrock-Output-Token-Count", "4")])
            case invokeStreamPath where !isBedrockAnthropicBody(body):
                respond.json(400, #"{"message":"Malformed input request"}"#, headers: [("x-amzn-ErrorType", "ValidationException")])
            case invokeStreamPath where firstText == "throttle":
                sendFrames(anthropicEvents.prefix(3).map { BedrockChunk.message(Array($0.utf8)) }
                           + [.exception("throttlingException", message: "Too many tokens, please wait before trying again.")], respond)
            case invokeStreamPath:
                sendFrames(anthropicEvents.map { BedrockChunk.message(Array($0.utf8)) }, respond)
            default:
                respond.json(404, #"{"message":"no route \#(request.uri)"}"#, headers: [("x-amzn-ErrorType", "UnknownOperationException")])
            }
        }
    }

    /// Without health probes: a test counts the upstream's requests, and a probe of the model a
    /// throttled stream took out would be one more on a slow run.
    static func startInvoke(_ upstream: MockUpstream) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - name: aws-invoke
            provider: bedrock
            base_url: "\(upstream.baseURL)"
            credentials:
              access_key_id: \(credentials.accessKeyID)
              secret_access_key: "\(credentials.secretAccessKey)"
              session_token: "\(credentials.sessionToken ?? "")"
            options: { region: us-west-2, api: invoke }
            models: [claude-invoke, nova]
            model_map: { claude-invoke: "\(modelID)", nova: "amazon.nova-pro-v1:0" }
        """, pluginsDirectory: BuildProducts.directory)
    }

    @Test func invokesAnAnthropicModelForAnOpenAIClient() async throws {
        let upstream = try await Self.invokeUpstream()
        let harness = try await Self.startInvoke(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"claude-invoke","max_tokens":300,"temperature":0.3,"messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Say hello"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        let json = try #require(response.json)
        #expect(json["id"]?.stringValue == "msg_bdrk_01XYZ")
        #expect(json["object"]?.stringValue == "chat.completion")
        #expect(json["model"]?.stringValue == "claude-invoke")
        #expect(json["choices"]?[0]?["message"]?["content"]?.stringValue == "Bonjour !")
        #expect(json["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(json["usage"]?["prompt_tokens"]?.int64Value == 1211)
        #expect(json["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int64Value == 1000)

        let sent = try #require(upstream.requests.last)
        #expect(sent.method == "POST")
        #expect(sent.uri == Self.invokePath)
        #expect(sent.header("content-type") == "application/json")
        #expect(sent.header("accept") == "application/json")
        #expect(sent.header("x-amz-security-token") == Self.credentials.sessionToken)
        #expect(sent.header("authorization")?.contains("/us-west-2/bedrock/aws4_request") == true)
        #expect(Self.verifySignature(sent, region: "us-west-2", service: "bedrock", token: true) == nil)
        let body = try #require(sent.json)
        #expect(Self.isBedrockAnthropicBody(body))
        #expect(body["max_tokens"]?.int64Value == 300)
        #expect(body["system"]?.jsonString.contains("Answer in French.") == true)
        #expect(body["messages"]?[0]?["content"]?.stringValue == "Say hello")

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.channel == "aws-invoke")
        #expect(record.status == 200)
        #expect(record.usage.prompt == 1211, "input 11 + cache read 1000 + cache write 200")
        #expect(record.usage.completion == 4)
        #expect(record.usage.cacheRead == 1000)
        #expect(record.usage.cacheCreation == 200)
        #expect(record.usage.estimated == false)
    }

    @Test func streamsAnAnthropicModelForAnOpenAIClient() async throws {
        let upstream = try await Self.invokeUpstream()
        let harness = try await Self.startInvoke(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"claude-invoke","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hello"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.header("content-type") == "text/event-stream")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.invokeStreamPath)
        #expect(sent.header("accept") == "application/vnd.amazon.eventstream")
        #expect(sent.header("x-amzn-bedrock-accept") == "application/json")
        #expect(Self.verifySignature(sent, region: "us-west-2", service: "bedrock", token: true) == nil)
        #expect(Self.isBedrockAnthropicBody(sent.json), "\(sent.json?.jsonString ?? "")")

        let (events, done) = try Self.events(response)
        #expect(done)
        #expect(events.allSatisfy { $0["id"]?.stringValue == "msg_bdrk_01S" && $0["model"]?.stringValue == "claude-invoke" })
        #expect(events.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
        #expect(events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Bonjour !")
        #expect(events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(events.last?["choices"] == .array([]))
        #expect(events.last?["usage"]?["prompt_tokens"]?.int64Value == 1211)
        #expect(events.last?["usage"]?["completion_tokens"]?.int64Value == 4)

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.status == 200)
        #expect(record.usage.prompt == 1211 && record.usage.completion == 4)
        #expect(record.usage.cacheRead == 1000 && record.usage.cacheCreation == 200)
    }

    @Test func passesInvokeErrorsOn() async throws {
        let upstream = try await Self.invokeUpstream()
        let harness = try await Self.startInvoke(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let invalid = try await harness.chat(#"{"model":"claude-invoke","messages":[{"role":"user","content":"invalid"}]}"#)
        #expect(invalid.status == 400)
        #expect(invalid.json?["error"]?["type"]?.stringValue == "ValidationException")
        #expect(invalid.json?["error"]?["message"]?.stringValue == "messages: roles must alternate")

        let throttled = try await harness.chat(#"{"model":"claude-invoke","stream":true,"messages":[{"role":"user","content":"throttle"}]}"#)
        #expect(throttled.status == 200, "the stream had started")
        #expect(throttled.text.contains(#""content":"Bon""#))
        #expect(throttled.text.contains("throttlingException: Too many tokens, please wait before trying again."))
        #expect(!throttled.text.contains("[DONE]"))

        let requestsBefore = upstream.requests.count
        let nova = try await harness.chat(#"{"model":"nova","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(nova.status >= 400 && nova.status < 600)
        #expect(nova.text.contains("Anthropic models only"), "\(nova.text)")
        #expect(upstream.requests.count == requestsBefore, "nothing is sent for a model InvokeModel cannot serve")
    }

    @Test func passesAnthropicClientsThroughInvoke() async throws {
        let upstream = try await Self.invokeUpstream()
        let harness = try await Self.startInvoke(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let headers = [("x-api-key", GatewayHarness.clientKey), ("anthropic-version", "2023-06-01"), ("content-type", "application/json")]

        let body = #"{"model":"claude-invoke","max_tokens":100,"system":"Answer in French.","messages":[{"role":"user","content":"Say hello"}]}"#
        let response = try await harness.client.fetch(port: harness.port, path: "/v1/messages", headers: headers, body: Array(body.utf8))
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == Self.anthropicAnswer, "the answer is relayed as it is")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.invokePath)
        #expect(Self.verifySignature(sent, region: "us-west-2", service: "bedrock", token: true) == nil)
        #expect(String(decoding: sent.body, as: UTF8.self)
            == #"{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"system":"Answer in French.","messages":[{"role":"user","content":"Say hello"}]}"#,
            "the client's bytes with model removed and anthropic_version set")
        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.usage.prompt == 1211 && record.usage.completion == 4)
        #expect(record.usage.cacheRead == 1000 && record.usage.cacheCreation == 200)

        let streamBody = #"{"model":"claude-invoke","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"Say hello"}]}"#
        let streamed = try await harness.client.fetch(port: harness.port, path: "/v1/messages",
                                                      headers: headers + [("anthropic-beta", "context-1m-2025-08-07")], body: Array(streamBody.utf8))
        #expect(streamed.status == 200, "\(streamed.text)")
        #expect(streamed.text == Self.anthropicSSE, "each chunk's event relayed as Anthropic SSE")
        let streamSent = try #require(upstream.requests.last)
        #expect(streamSent.uri == Self.invokeStreamPath)
        #expect(String(decoding: streamSent.body, as: UTF8.self)
            == #"{"anthropic_beta":["context-1m-2025-08-07"],"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":"Say hello"}]}"#,
            "the beta header goes in the body, where Bedrock reads it")
        #expect(streamSent.header("anthropic-beta") == nil)
        let streamRecord = try #require(await harness.records.waitFor(streamed.header("x-request-id")))
        #expect(streamRecord.usage.prompt == 1211 && streamRecord.usage.completion == 4)
        #expect(streamRecord.usage.cacheRead == 1000 && streamRecord.usage.cacheCreation == 200)

        let invalid = try await harness.client.fetch(port: harness.port, path: "/v1/messages", headers: headers,
            body: Array(#"{"model":"claude-invoke","max_tokens":10,"messages":[{"role":"user","content":"invalid"}]}"#.utf8))
        #expect(invalid.status == 400)
        #expect(invalid.json?["type"]?.stringValue == "error")
        #expect(invalid.json?["error"]?["type"]?.stringValue == "invalid_request_error")
        #expect(invalid.json?["error"]?["message"]?.stringValue == "ValidationException: messages: roles must alternate")
    }
}
