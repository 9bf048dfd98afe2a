import Foundation
import Testing
import TollgatePluginKit
@testable import BedrockPlugin

/// `options.api: invoke`: InvokeModel / InvokeModelWithResponseStream with Anthropic bodies.
@Suite struct InvokeModelTests {
    typealias F = PluginFixture

    static let model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    static let base = "https://bedrock-runtime.us-east-1.amazonaws.com"

    func invoke(_ options: [String: String] = [:]) throws -> BedrockChannel {
        BedrockChannel(try F.settings(.bedrock, options: ["api": "invoke"].merging(options) { $1 }))
    }

    // MARK: Settings and model ids

    @Test func readsTheAPIOption() throws {
        #expect(try F.settings(.bedrock).api == .converse)
        #expect(try F.settings(.bedrock, options: ["api": "converse"]).api == .converse)
        #expect(try F.settings(.bedrock, options: ["api": "invoke"]).api == .invoke)
        #expect(try F.settings(.bedrock, options: ["api": "invoke", "max_tokens_default": "2048"]).maxTokensDefault == 2048)
        let bad = F.failure { _ = try F.settings(.bedrock, options: ["api": "invokeModel"]) }
        #expect(bad?.kind == .config)
        #expect(bad?.message == "options.api must be converse or invoke")
        #expect(F.failure { _ = try F.settings(.sagemaker, options: ["api": "invoke"]) }?.message == "options.api applies to bedrock channels only")
        #expect(F.failure { _ = try F.settings(.bedrock, options: ["max_tokens_default": "0"]) }?.kind == .config)
    }

    @Test func recognizesAnthropicModelIDs() {
        for id in ["anthropic.claude-3-5-sonnet-20240620-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0",
                   "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "apac.anthropic.claude-3-haiku-20240307-v1:0",
                   "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0",
                   "Anthropic.Claude-v2",
                   "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                   "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"] {
            #expect(InvokeModel.isAnthropic(id), "\(id)")
        }
        for id in ["amazon.nova-pro-v1:0", "us.amazon.nova-lite-v1:0", "meta.llama3-70b-instruct-v1:0", "anthropic",
                   "claude-3-5-sonnet", "us.meta.anthropic-lookalike-v1:0", "my.custom.anthropic.model",
                   "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"] {
            #expect(!InvokeModel.isAnthropic(id), "\(id)")
        }
    }

    @Test func acceptsAnthropicBodiesOnlyWhenInvokingAnAnthropicModel() throws {
        #expect(try invoke().accepts(.anthropic, model: Self.model))
        #expect(try invoke().accepts(.anthropic, model: "us.anthropic.claude-sonnet-4-20250514-v1:0"))
        #expect(try !invoke().accepts(.anthropic, model: "amazon.nova-pro-v1:0"))
        #expect(try !invoke().accepts(.openAI, model: Self.model))
        #expect(try !invoke().accepts(.gemini, model: Self.model))
        #expect(try !F.bedrock().accepts(.anthropic, model: Self.model), "Converse converts Anthropic clients through OpenAI")
    }

    // MARK: Requests

    @Test func convertsAnOpenAIRequestToAnInvokeBody() throws {
        let request = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model, body: Array(#"""
        {"model":"claude-sonnet","max_tokens":300,"temperature":0.2,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}
        """#.utf8), stream: false))
        #expect(request.url == Self.base + "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke")
        #expect(request.method == "POST")
        let body = try JSONParser.parse(request.body)
        #expect(body["anthropic_version"]?.stringValue == "bedrock-2023-05-31")
        #expect(body["model"] == nil, "the model is in the URL")
        #expect(body["stream"] == nil)
        #expect(body["max_tokens"]?.int64Value == 300)
        #expect(body["system"]?.jsonString.contains("Be brief.") == true)
        #expect(body["messages"]?[0]?["role"]?.stringValue == "user")
        #expect(body["messages"]?.arrayValue?.count == 1, "the system message goes to system")
        #expect(header("content-type", in: request.headers) == "application/json")
        #expect(header("accept", in: request.headers) == "application/json")
        #expect(header("authorization", in: request.headers)?.contains("/us-east-1/bedrock/aws4_request") == true)
    }

    @Test func streamsThroughInvokeWithResponseStreamWithoutAStreamMember() throws {
        let request = try invoke(["max_tokens_default": "777"]).buildRequest(PluginRequest(
            operation: .chat, model: "us.anthropic.claude-sonnet-4-20250514-v1:0",
            body: Array(#"{"model":"c","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#.utf8), stream: true))
        #expect(request.url == Self.base + "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke-with-response-stream")
        #expect(header("accept", in: request.headers) == "application/vnd.amazon.eventstream")
        #expect(header("x-amzn-bedrock-accept", in: request.headers) == "application/json")
        let body = try JSONParser.parse(request.body)
        #expect(body["stream"] == nil, "Bedrock's Anthropic schema has no stream member")
        #expect(body["max_tokens"]?.int64Value == 777, "options.max_tokens_default")
        #expect(body["anthropic_version"]?.stringValue == "bedrock-2023-05-31")
    }

    @Test func passesAnAnthropicBodyThroughWithThePlatformEdit() throws {
        let client = #"{"model":"claude-sonnet","max_tokens":100, "stream":true,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}"#
        for stream in [false, true] {
            let request = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model, body: Array(client.utf8),
                                                                  dialect: .anthropic, stream: stream))
            #expect(String(decoding: request.body, as: UTF8.self)
                == #"{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(request.url.hasSuffix(stream ? "/invoke-with-response-stream" : "/invoke"))
        }
        let versioned = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model,
            body: Array(#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#.utf8), dialect: .anthropic, stream: false))
        #expect(String(decoding: versioned.body, as: UTF8.self) == #"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#)
    }

    @Test func movesAnthropicBetaHeadersIntoTheBody() throws {
        let betas = [("anthropic-beta", "context-1m-2025-08-07, interleaved-thinking-2025-05-14"),
                     ("Anthropic-Beta", "context-1m-2025-08-07"), ("x-other", "no")]
        let passthrough = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model,
            body: Array(#"{"model":"m","max_tokens":5,"messages":[]}"#.utf8), dialect: .anthropic, stream: false, clientHeaders: betas))
        #expect(String(decoding: passthrough.body, as: UTF8.self)
            == #"{"anthropic_beta":["context-1m-2025-08-07","interleaved-thinking-2025-05-14"],"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#)
        let own = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model,
            body: Array(#"{"anthropic_beta":["a"],"max_tokens":5,"messages":[]}"#.utf8), dialect: .anthropic, stream: false, clientHeaders: betas))
        #expect(String(decoding: own.body, as: UTF8.self) == #"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["a"],"max_tokens":5,"messages":[]}"#)
        let openAI = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model,
            body: Array(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#.utf8), stream: true, clientHeaders: betas))
        let body = try JSONParser.parse(openAI.body)
        #expect(body["anthropic_beta"]?.jsonString == #"["context-1m-2025-08-07","interleaved-thinking-2025-05-14"]"#)
        #expect(body["anthropic_version"]?.stringValue == "bedrock-2023-05-31")
        let none = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model,
            body: Array(#"{"max_tokens":5,"messages":[]}"#.utf8), dialect: .anthropic, stream: false, clientHeaders: [("anthropic-beta", " , ")]))
        #expect(String(decoding: none.body, as: UTF8.self) == #"{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}"#)
    }

    @Test func refusesNonAnthropicModelsAndOtherOperations() throws {
        let body = Array(#"{"model":"nova","messages":[{"role":"user","content":"Hi"}]}"#.utf8)
        let nova = F.failure { _ = try invoke().buildRequest(PluginRequest(operation: .chat, model: "amazon.nova-pro-v1:0", body: body, stream: false)) }
        #expect(nova?.kind == .unsupported)
        #expect(nova?.message.contains("Anthropic models only") == true)
        #expect(nova?.message.contains("\"amazon.nova-pro-v1:0\"") == true)
        #expect(nova?.message.contains("options.api: converse") == true)
        let embeddings = F.failure { _ = try invoke().buildRequest(PluginRequest(operation: .embeddings, model: Self.model, body: body, stream: false)) }
        #expect(embeddings?.kind == .unsupported)
        let notJSON = F.failure { _ = try invoke().buildRequest(PluginRequest(operation: .chat, model: Self.model, body: Array("nope".utf8), stream: false)) }
        #expect(notJSON?.kind == .invalidInput)
    }

    // MARK: Answers

    static let answer = #"{"id":"msg_bdrk_01ABC","type":"message","role":"assistant","model":"claude-3-5-sonnet-20240620","content":[{"type":"text","text":"Bonjour !"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":11,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":4}}"#

    @Test func convertsTheAnswerToOpenAI() throws {
        let converted = try invoke().convertResponse(PluginResponse(status: 200, headers: [("x-amzn-requestid", "r1")],
                                                                    body: Array(Self.answer.utf8), model: "claude-sonnet"))
        #expect(converted.status == 200)
        let json = try JSONParser.parse(converted.body)
        #expect(json["id"]?.stringValue == "msg_bdrk_01ABC")
        #expect(json["object"]?.stringValue == "chat.completion")
        #expect(json["created"]?.int64Value == F.unixSeconds)
        #expect(json["model"]?.stringValue == "claude-sonnet")
        #expect(json["choices"]?[0]?["message"]?["content"]?.stringValue == "Bonjour !")
        #expect(json["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(json["usage"]?["prompt_tokens"]?.int64Value == 1211)
        #expect(converted.usage == PluginUsage(prompt: 1211, completion: 4, cacheRead: 1000, cacheCreation: 200))
    }

    @Test func relaysTheAnswerToAnAnthropicClient() throws {
        let converted = try invoke().convertResponse(PluginResponse(status: 200, body: Array(Self.answer.utf8), model: "claude-sonnet",
                                                                    dialect: .anthropic))
        #expect(converted.body == Array(Self.answer.utf8))
        #expect(converted.usage == PluginUsage(prompt: 1211, completion: 4, cacheRead: 1000, cacheCreation: 200))
    }

    @Test func convertsAWSErrorsForEitherDialect() throws {
        let body = Array(#"{"message":"Malformed input request: #: extraneous key [foo] is not permitted"}"#.utf8)
        let headers = [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")]
        let openAI = try invoke().convertResponse(PluginResponse(status: 400, headers: headers, body: body, model: "m"))
        #expect(openAI.status == 400)
        #expect(String(decoding: openAI.body, as: UTF8.self)
            == #"{"error":{"message":"Malformed input request: #: extraneous key [foo] is not permitted","type":"ValidationException","code":null}}"#)
        let anthropic = try invoke().convertResponse(PluginResponse(status: 400, headers: headers, body: body, model: "m", dialect: .anthropic))
        #expect(anthropic.status == 400)
        #expect(String(decoding: anthropic.body, as: UTF8.self)
            == #"{"type":"error","error":{"type":"invalid_request_error","message":"ValidationException: Malformed input request: #: extraneous key [foo] is not permitted"}}"#)
        let throttled = try invoke().convertResponse(PluginResponse(status: 429, headers: [("x-amzn-ErrorType", "ThrottlingException")],
                                                                    body: Array(#"{"message":"Too many requests"}"#.utf8), model: "m", dialect: .anthropic))
        #expect(try JSONParser.parse(throttled.body)["error"]?["type"]?.stringValue == "rate_limit_error")
        #expect(throttled.usage.isEmpty)
    }

    @Test func refusesABrokenAnswer() throws {
        let broken = F.failure { _ = try invoke().convertResponse(PluginResponse(status: 200, body: Array("<html>".utf8), model: "m")) }
        #expect(broken?.kind == .upstream)
    }

    // MARK: Streams

    static let events: [String] = [
        #"{"type":"message_start","message":{"id":"msg_bdrk_01S","type":"message","role":"assistant","model":"claude-3-5-sonnet-20240620","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":11,"cache_creation_input_tokens":200,"cache_read_input_tokens":1000,"output_tokens":1}}}"#,
        #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        #"{"type":"ping"}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bon"}}"#,
        #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"jour ✓"}}"#,
        #"{"type":"content_block_stop","index":0}"#,
        #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":4}}"#,
        #"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":11,"outputTokenCount":4,"invocationLatency":512,"firstByteLatency":230}}"#,
    ]

    static func chunks(_ events: [String]) -> [EventStreamMessage] {
        events.map { BedrockChunk.message(Array($0.utf8)) }
    }

    /// A chunk with Bedrock's padding member beside `bytes`.
    static func paddedChunk(_ event: String) -> EventStreamMessage {
        .event("chunk", payload: JSONValue.object(["bytes": .string(Base64.encode(Array(event.utf8))), "p": .string("abcdefghij")]).serialized())
    }

    func stream(_ dialect: Dialect = .openAI, includeUsage: Bool = true) throws -> any AdaptorStream {
        try invoke().makeStream(PluginStreamParams(model: "claude-sonnet", headers: [("x-amzn-requestid", "r1")],
                                                   includeUsage: includeUsage, dialect: dialect))
    }

    @Test func convertsAStreamToOpenAIChunks() throws {
        let frames = try F.frames([Self.paddedChunk(Self.events[0])] + Self.chunks(Array(Self.events.dropFirst())))
        let run = StreamRun(try stream(), frames)
        #expect(run.error == nil)
        #expect(run.events.allSatisfy { $0["id"]?.stringValue == "msg_bdrk_01S" && $0["model"]?.stringValue == "claude-sonnet" })
        #expect(run.events.allSatisfy { $0["created"]?.int64Value == F.unixSeconds })
        #expect(run.events.first?["choices"]?[0]?["delta"]?.jsonString == #"{"role":"assistant","content":""}"#)
        #expect(run.events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() == "Bonjour ✓")
        #expect(run.events.contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(run.events.last?["usage"]?["prompt_tokens"]?.int64Value == 1211)
        #expect(run.text.hasSuffix("data: [DONE]\n\n"))
        #expect(run.usage == PluginUsage(prompt: 1211, completion: 4, cacheRead: 1000, cacheCreation: 200))
    }

    @Test func relaysAStreamAsAnthropicSSE() throws {
        let run = StreamRun(try stream(.anthropic), try F.frames(Self.chunks(Self.events)))
        #expect(run.error == nil)
        let expected = Self.events.map { event -> String in
            let type = (try? JSONParser.parse(event))?["type"]?.stringValue ?? ""
            return "event: \(type)\ndata: \(event)\n\n"
        }.joined()
        #expect(run.text == expected)
        #expect(run.usage == PluginUsage(prompt: 1211, completion: 4, cacheRead: 1000, cacheCreation: 200))
    }

    @Test func givesIdenticalOutputWhateverTheSplit() throws {
        let bytes = try F.frames([Self.paddedChunk(Self.events[0])] + Self.chunks(Array(Self.events.dropFirst())))
        for dialect in [Dialect.openAI, .anthropic] {
            let whole = StreamRun(try stream(dialect), bytes)
            #expect(whole.error == nil)
            let byteByByte = StreamRun(try stream(dialect), bytes, pieces: Array(repeating: 1, count: bytes.count))
            #expect(byteByByte.output == whole.output)
            #expect(byteByByte.usage == whole.usage)
            for cut in 1..<bytes.count {
                let split = StreamRun(try stream(dialect), bytes, pieces: [cut])
                #expect(split.error == nil, "split at \(cut)")
                #expect(split.output == whole.output, "split at \(cut)")
                #expect(split.usage == whole.usage, "split at \(cut)")
            }
        }
    }

    @Test func reframesAnEventThatSpansLines() throws {
        let pretty = "{\n  \"type\": \"ping\"\n}"
        let sse = try reframe(BedrockChunk.message(Array(pretty.utf8)))
        #expect(String(decoding: sse, as: UTF8.self) == "event: ping\ndata: {\"type\":\"ping\"}\n\n")
        #expect(try reframe(.event("metadata", payload: Array("{}".utf8))).isEmpty, "events other than chunk are ignored")
    }

    @Test func endsWithTheExceptionAfterTheEventsBeforeIt() throws {
        for dialect in [Dialect.openAI, .anthropic] {
            for (type, message) in [("throttlingException", "Too many tokens, please wait before trying again."),
                                    ("modelStreamErrorException", "Model stream ended unexpectedly"),
                                    ("internalServerException", "Internal error")] {
                let frames = try F.frames(Self.chunks(Array(Self.events.prefix(4))) + [.exception(type, message: message)]
                                          + Self.chunks(Array(Self.events.suffix(4))))
                let run = StreamRun(try stream(dialect), frames)
                #expect(run.error?.kind == .upstream)
                #expect(run.error?.message == "\(type): \(message)")
                #expect(run.text.contains("Bon"), "the events before the exception are kept")
                #expect(!run.text.contains("jour"))
                #expect(!run.text.contains("[DONE]") && !run.text.contains("message_stop"))
                #expect(run.usage.prompt == 1211, "usage read before the exception")
            }
        }
        let error = StreamRun(try stream(), try F.frames(Self.chunks(Array(Self.events.prefix(2))) + [.error(code: "InternalFailure", message: "boom")]))
        #expect(error.error?.message == "InternalFailure: boom")
    }

    @Test func failsOnBadChunksAndEarlyEnds() throws {
        let notBase64 = StreamRun(try stream(), try F.frames([.event("chunk", payload: Array(#"{"bytes":"!!!"}"#.utf8))]))
        #expect(notBase64.error?.kind == .upstream)
        let notJSON = StreamRun(try stream(), try F.frames([BedrockChunk.message(Array("hello".utf8))]))
        #expect(notJSON.error?.kind == .upstream)
        #expect(notJSON.error?.message.contains("not an Anthropic event") == true)
        let untyped = StreamRun(try stream(), try F.frames([BedrockChunk.message(Array(#"{"a":1}"#.utf8))]))
        #expect(untyped.error?.message.contains("not an Anthropic event") == true)
        for dialect in [Dialect.openAI, .anthropic] {
            let early = StreamRun(try stream(dialect), try F.frames(Self.chunks(Array(Self.events.prefix(4)))))
            #expect(early.error?.kind == .upstream, "no message_stop")
            let bytes = try F.frames(Self.chunks(Self.events))
            let truncated = StreamRun(try stream(dialect), Array(bytes.dropLast(3)))
            #expect(truncated.error?.kind == .upstream, "a truncated frame")
        }
    }

    @Test func anAnthropicErrorEventFailsTheStream() throws {
        let run = StreamRun(try stream(), try F.frames(Self.chunks([Self.events[0],
            #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#])))
        #expect(run.error?.kind == .upstream)
        #expect(run.error?.message == "overloaded_error: Overloaded")
        #expect(run.events.count == 1, "the role chunk came before")
    }
}

/// A frame through the stream's re-framing, as the stream itself sees it (type and payload).
private func reframe(_ message: EventStreamMessage) throws -> [UInt8] {
    guard case .event(let type, let payload) = try message.interpreted() else { return [] }
    return try InvokeStream.sse(type: type, payload: payload)
}
