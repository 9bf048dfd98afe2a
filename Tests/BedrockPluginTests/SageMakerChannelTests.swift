import Testing
import TollgatePluginKit
@testable import BedrockPlugin

@Suite struct SageMakerChannelTests {
    typealias F = PluginFixture

    static let request = Array(#"{"model":"my-endpoint","messages":[{"role":"user","content":"Hello there, how are you?"}]}"#.utf8)

    @Test func invokesTheEndpointWithTheBodyUnchanged() throws {
        let channel = try F.sagemaker()
        let plain = try channel.build(model: "my-endpoint", body: Self.request, stream: false)
        #expect(plain.url == "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/my-endpoint/invocations")
        #expect(plain.body == Self.request)
        let authorization = plain.headers.first { $0.0 == "Authorization" }?.1 ?? ""
        #expect(authorization.contains("/20240703/us-east-1/sagemaker/aws4_request"))
        let streamed = try channel.build(model: "my endpoint/v2", body: Self.request, stream: true)
        #expect(streamed.url == "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/my%20endpoint%2Fv2/invocations-response-stream")
        #expect(plain.headers.first { $0.0 == "Accept" }?.1 == "application/json")
        #expect(streamed.headers.map(\.0) == ["Host", "Content-Type", "X-Amz-Date", "Authorization"])
    }

    @Test func passesTheAnswerThroughWithItsOpenAIUsage() throws {
        let answer = Array(#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Fine."},"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":3,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":4}}}"#.utf8)
        let converted = try F.sagemaker().convert(status: 200, headers: [], body: answer, requestBody: Self.request)
        #expect(converted.status == 200)
        #expect(converted.body == answer)
        #expect(converted.usage == PluginUsage(prompt: 14, completion: 3, cacheRead: 4))
    }

    @Test func readsUsageAtConfiguredPaths() throws {
        let channel = try F.sagemaker(options: ["usage_path": "0.details.prompt_tokens", "usage_completion_path": "0.details.generated_tokens"])
        let answer = Array(#"[{"generated_text":"Fine.","details":{"prompt_tokens":21,"generated_tokens":6}}]"#.utf8)
        let converted = channel.convert(status: 200, headers: [], body: answer, requestBody: Self.request)
        #expect(converted.usage == PluginUsage(prompt: 21, completion: 6))
        #expect(converted.body == answer)

        // A path that leads to an object reads it as an OpenAI usage object.
        let objectPath = try F.sagemaker(options: ["usage_path": "meta.usage"])
        let nested = Array(#"{"meta":{"usage":{"prompt_tokens":5,"completion_tokens":2}}}"#.utf8)
        #expect(objectPath.convert(status: 200, headers: [], body: nested, requestBody: Self.request).usage == PluginUsage(prompt: 5, completion: 2))

        // Only one count found: the other is estimated.
        let half = channel.convert(status: 200, headers: [], body: Array(#"[{"details":{"prompt_tokens":21}}]"#.utf8), requestBody: Self.request)
        #expect(half.usage.prompt == 21)
        #expect(half.usage.estimated)
    }

    @Test func estimatesUsageWhenNoneIsReported() throws {
        let channel = try F.sagemaker()
        let openAI = channel.convert(status: 200, headers: [],
                                     body: Array(#"{"choices":[{"message":{"role":"assistant","content":"Twelve bytes"}}]}"#.utf8),
                                     requestBody: Self.request)
        #expect(openAI.usage == PluginUsage(prompt: Int64((Self.request.count + 3) / 4), completion: 3, estimated: true))
        let other = channel.convert(status: 200, headers: [], body: Array("plain text answer".utf8), requestBody: Self.request)
        #expect(other.usage.completion == 5)
        #expect(other.usage.estimated)
        #expect(other.body == Array("plain text answer".utf8))
    }

    @Test func convertsErrors() throws {
        let body = #"{"ErrorCode":"CLIENT_ERROR_FROM_MODEL","LogStreamArn":"arn:aws:logs:...","Message":"Received client error (422) from primary with message \"bad input\".","OriginalMessage":"bad input","OriginalStatusCode":422}"#
        let converted = try F.sagemaker().convert(status: 424, headers: [("x-amzn-errortype", "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/")],
                                                  body: Array(body.utf8), requestBody: Self.request)
        #expect(converted.status == 424)
        #expect(String(decoding: converted.body, as: UTF8.self) == #"{"error":{"message":"Received client error (422) from primary with message \"bad input\".","type":"ModelError","code":null}}"#)
        #expect(converted.usage.isEmpty)
        let noHeader = try F.sagemaker().convert(status: 424, headers: [], body: Array(body.utf8), requestBody: Self.request)
        #expect(try JSONParser.parse(noHeader.body)["error"]?["type"]?.stringValue == "CLIENT_ERROR_FROM_MODEL")
    }

    // MARK: Streams

    static let sse = [
        #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"# + "\n\n",
        #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Fine, "}}]}"# + "\n\n",
        #"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"thanks."},"finish_reason":"stop"}]}"# + "\n\n",
        #"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":15,"completion_tokens":4,"total_tokens":19}}"# + "\n\n",
        "data: [DONE]\n\n",
    ]

    /// The container's SSE cut into PayloadPart frames at arbitrary places (SageMaker does not
    /// align parts with events).
    static func frames(_ text: String, cuts: [Int]) throws -> [UInt8] {
        let bytes = Array(text.utf8)
        var parts: [[UInt8]] = []
        var start = 0
        for cut in cuts + [bytes.count] where cut > start && cut <= bytes.count {
            parts.append(Array(bytes[start..<cut]))
            start = cut
        }
        return try F.frames(parts.map { EventStreamMessage.event("PayloadPart", payload: $0, contentType: "application/octet-stream") })
    }

    @Test func forwardsTheContainersStreamAndReadsItsUsage() throws {
        let text = Self.sse.joined()
        let bytes = try Self.frames(text, cuts: [7, 100, 101, 250])
        let whole = StreamRun(try F.sagemaker().stream(requestBody: Self.request), bytes)
        #expect(whole.error == nil)
        #expect(whole.text == text)
        #expect(whole.usage == PluginUsage(prompt: 15, completion: 4))
        for cut in stride(from: 1, to: bytes.count, by: 1) {
            let split = StreamRun(try F.sagemaker().stream(requestBody: Self.request), bytes, pieces: [cut])
            #expect(split.output == whole.output, "split at \(cut)")
            #expect(split.usage == whole.usage)
        }
    }

    @Test func estimatesStreamUsageWhenTheContainerGivesNone() throws {
        let text = Self.sse.prefix(3).joined() + "data: [DONE]\n\n"
        let run = StreamRun(try F.sagemaker().stream(requestBody: Self.request), try Self.frames(text, cuts: [30]))
        #expect(run.error == nil)
        #expect(run.text == text)
        #expect(run.usage == PluginUsage(prompt: Int64((Self.request.count + 3) / 4), completion: 4, estimated: true))  // "Fine, thanks." = 13 bytes

        let raw = StreamRun(try F.sagemaker().stream(requestBody: Self.request), try Self.frames("not sse at all", cuts: []))
        #expect(raw.text == "not sse at all")
        #expect(raw.usage.completion == 4)
        #expect(raw.usage.estimated)
    }

    @Test func readsStreamUsageAtConfiguredPaths() throws {
        let text = #"data:{"token":{"text":"Hi"},"details":{"prompt_tokens":8,"generated_tokens":1}}"# + "\r\n\r\n"
        let channel = try F.sagemaker(options: ["usage_path": "details.prompt_tokens", "usage_completion_path": "details.generated_tokens"])
        let run = StreamRun(channel.stream(requestBody: Self.request), try Self.frames(text, cuts: [3]))
        #expect(run.usage == PluginUsage(prompt: 8, completion: 1))
    }

    @Test func endsOnExceptionsCorruptAndTruncatedFrames() throws {
        let good = try Self.frames(Self.sse[0], cuts: [])
        let exception = try F.frames([.exception("ModelStreamError", message: "Container failed")])
        let run = StreamRun(try F.sagemaker().stream(requestBody: Self.request), good + exception)
        #expect(run.error?.kind == .upstream)
        #expect(run.error?.message == "ModelStreamError: Container failed")
        #expect(run.text == Self.sse[0], "bytes before the exception are kept")

        var corrupt = good + good
        corrupt[corrupt.count - 1] ^= 0xFF
        let crc = StreamRun(try F.sagemaker().stream(requestBody: Self.request), corrupt)
        #expect(crc.error?.message.contains("CRC32 mismatch") == true)
        #expect(crc.text == Self.sse[0])

        let truncated = StreamRun(try F.sagemaker().stream(requestBody: Self.request), Array(good.dropLast()))
        #expect(truncated.error?.message.contains("ended inside a message") == true)
    }

    @Test func boundsTheSSEEventItReads() {
        var scanner = SSEUsageScanner { _ in PluginUsage(prompt: 1, completion: 1) }
        scanner.feed(Array("data: {\"usage\":{}}\r\r".utf8))
        #expect(scanner.usage == PluginUsage(prompt: 1, completion: 1), "a lone CR ends a line")
        scanner.feed(Array(repeating: UInt8(ascii: "x"), count: SSEUsageScanner.maxEvent + 10))
        #expect(scanner.gaveUp, "an oversized event is not buffered")
        scanner.feed(Array("\ndata: {\"usage\":{}}\n\n".utf8))
        scanner.finish()
        #expect(scanner.contentBytes == 0)
    }
    // MARK: Usage asked for on the client's behalf

    static func built(_ channel: SageMakerChannel, _ body: String, stream: Bool = true, operation: Operation = .chat,
                      dialect: Dialect = .openAI) throws -> String {
        let request = PluginRequest(operation: operation, model: "my-endpoint", body: Array(body.utf8), dialect: dialect, stream: stream)
        return String(decoding: try channel.buildRequest(request).body, as: UTF8.self)
    }

    /// A chat stream whose client did not ask for usage asks the container for it (any other
    /// stream option kept); a complete answer, a client that asked, another operation or dialect,
    /// a body that is no JSON object, and a channel with `include_usage: false` go unchanged.
    @Test func aChatStreamAsksTheContainerForUsage() throws {
        let channel = try F.sagemaker()
        #expect(try Self.built(channel, #"{"model":"m","stream":true}"#)
            == #"{"stream_options":{"include_usage":true},"model":"m","stream":true}"#)
        #expect(try Self.built(channel, #"{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":false}}"#)
            == #"{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":false,"include_usage":true}}"#)
        for unchanged in [#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#, "not json", "[1]"] {
            #expect(try Self.built(channel, unchanged) == unchanged)
        }
        let body = #"{"model":"m","stream":true}"#
        #expect(try Self.built(channel, body, stream: false) == body)
        #expect(try Self.built(channel, body, operation: .embeddings) == body)
        #expect(try Self.built(channel, body, dialect: .anthropic) == body)
        #expect(try Self.built(try F.sagemaker(options: ["include_usage": "false"]), body) == body)
        #expect(try F.sagemaker(options: ["include_usage": "true"]).settings.includeUsage)
        #expect(throws: PluginError.self) { try F.sagemaker(options: ["include_usage": "sometimes"]) }
        #expect(throws: PluginError.self) { try SageMakerChannelTests.bedrockWithIncludeUsage() }
    }

    static func bedrockWithIncludeUsage() throws {
        _ = try AWSChannelSettings(try F.json(#"{"credentials":{"access_key_id":"AKID","secret_access_key":"s"},"options":{"region":"us-east-1","include_usage":"true"}}"#),
                                   provider: .bedrock)
    }

    /// The usage chunk asked for on the client's behalf is read and left out of its stream, every
    /// other byte forwarded as it came, however SageMaker cut the parts; unasked-for stripping
    /// holds nothing back when the client asked itself.
    @Test func theUsageChunkTheClientDidNotAskForIsLeftOut() throws {
        let text = Self.sse.joined()
        let expected = Self.sse.enumerated().filter { $0.offset != 3 }.map(\.element).joined()
        let bytes = try Self.frames(text, cuts: [7, 100, 101, 250, 330])
        for cut in stride(from: 0, to: bytes.count, by: 3) {
            let run = StreamRun(try F.sagemaker().stream(requestBody: Self.request, stripUsage: true), bytes, pieces: cut == 0 ? [] : [cut])
            #expect(run.error == nil)
            #expect(run.text == expected, "split at \(cut)")
            #expect(run.usage == PluginUsage(prompt: 15, completion: 4), "split at \(cut)")
        }
        let channel = try F.sagemaker()
        let asked = try channel.makeStream(PluginStreamParams(model: "my-endpoint", includeUsage: true, requestBody: Self.request))
        #expect(StreamRun(asked, bytes).text == text)
        let unasked = try channel.makeStream(PluginStreamParams(model: "my-endpoint", includeUsage: false, requestBody: Self.request))
        #expect(StreamRun(unasked, bytes).text == expected)
        let optedOut = try F.sagemaker(options: ["include_usage": "false"])
            .makeStream(PluginStreamParams(model: "my-endpoint", includeUsage: false, requestBody: Self.request))
        #expect(StreamRun(optedOut, bytes).text == text)
        let cut = StreamRun(try F.sagemaker().stream(requestBody: Self.request, stripUsage: true), try Self.frames(Self.sse[0] + "data: {\"id", cuts: []))
        #expect(cut.error?.message == "the container's stream ended inside an event")
        #expect(cut.text == Self.sse[0])
    }
}

