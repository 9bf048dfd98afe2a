import Foundation
import Testing
import TollgatePluginKit
@testable import BedrockPlugin

@Suite struct ConverseStreamTests {
    typealias F = PluginFixture

    static let textMessages: [EventStreamMessage] = [
        F.event("messageStart", #"{"p":"abcd","role":"assistant"}"#),
        F.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"ab"}"#),
        F.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"lo ✓"}}"#),
        F.event("contentBlockStop", #"{"contentBlockIndex":0}"#),
        F.event("messageStop", #"{"stopReason":"end_turn"}"#),
        F.event("metadata", #"{"metrics":{"latencyMs":312},"usage":{"inputTokens":9,"outputTokens":2,"totalTokens":41,"cacheReadInputTokens":25,"cacheWriteInputTokens":5}}"#),
    ]

    static let toolMessages: [EventStreamMessage] = [
        F.event("messageStart", #"{"role":"assistant"}"#),
        F.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"text":"Checking."}}"#),
        F.event("contentBlockStop", #"{"contentBlockIndex":0}"#),
        F.event("contentBlockStart", #"{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_A","name":"get_weather"}}}"#),
        F.event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}}}"#),
        F.event("contentBlockDelta", #"{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}}}"#),
        F.event("contentBlockStop", #"{"contentBlockIndex":1}"#),
        F.event("contentBlockStart", #"{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_B","name":"now"}}}"#),
        F.event("contentBlockDelta", #"{"contentBlockIndex":2,"delta":{"toolUse":{"input":""}}}"#),
        F.event("contentBlockStop", #"{"contentBlockIndex":2}"#),
        F.event("messageStop", #"{"stopReason":"tool_use"}"#),
        F.event("metadata", #"{"usage":{"inputTokens":40,"outputTokens":22,"totalTokens":62},"metrics":{"latencyMs":1}}"#),
    ]

    static let head = #"{"id":"chatcmpl-req-1","object":"chat.completion.chunk","created":1720000000,"model":"claude","choices":[{"index":0,"delta":"#

    func stream(includeUsage: Bool = true) throws -> ConverseStream {
        try F.bedrock().stream(model: "claude", headers: [("x-amzn-requestid", "req-1")], includeUsage: includeUsage)
    }

    @Test func convertsATextStream() throws {
        let run = StreamRun(try stream(), try F.frames(Self.textMessages))
        #expect(run.error == nil)
        #expect(run.text == """
        data: \(Self.head){"role":"assistant","content":""},"finish_reason":null}]}

        data: \(Self.head){"content":"Hel"},"finish_reason":null}]}

        data: \(Self.head){"content":"lo ✓"},"finish_reason":null}]}

        data: \(Self.head){},"finish_reason":"stop"}]}

        data: {"id":"chatcmpl-req-1","object":"chat.completion.chunk","created":1720000000,"model":"claude","choices":[],"usage":{"prompt_tokens":39,"completion_tokens":2,"total_tokens":41,"prompt_tokens_details":{"cached_tokens":25},"cache_creation_input_tokens":5}}

        data: [DONE]


        """)
        #expect(run.usage == PluginUsage(prompt: 39, completion: 2, cacheRead: 25, cacheCreation: 5))
    }

    @Test func givesIdenticalOutputWhateverTheSplit() throws {
        for messages in [Self.textMessages, Self.toolMessages] {
            let bytes = try F.frames(messages)
            let whole = StreamRun(try stream(), bytes)
            #expect(whole.error == nil)
            let byteByByte = StreamRun(try stream(), bytes, pieces: Array(repeating: 1, count: bytes.count))
            #expect(byteByByte.output == whole.output)
            #expect(byteByByte.usage == whole.usage)
            for cut in 1..<bytes.count {
                let split = StreamRun(try stream(), bytes, pieces: [cut])
                #expect(split.output == whole.output, "split at \(cut)")
                #expect(split.usage == whole.usage)
            }
        }
    }

    @Test func convertsToolBlocksToToolCallDeltasCountingToolsOnly() throws {
        let run = StreamRun(try stream(includeUsage: false), try F.frames(Self.toolMessages))
        #expect(run.error == nil)
        let deltas = run.events.compactMap { $0["choices"]?[0]?["delta"] }
        #expect(deltas.map(\.jsonString) == [
            #"{"role":"assistant","content":""}"#,
            #"{"content":"Checking."}"#,
            #"{"tool_calls":[{"index":0,"id":"tooluse_A","type":"function","function":{"name":"get_weather","arguments":""}}]}"#,
            #"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}"#,
            #"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#,
            #"{"tool_calls":[{"index":1,"id":"tooluse_B","type":"function","function":{"name":"now","arguments":""}}]}"#,
            #"{"tool_calls":[{"index":1,"function":{"arguments":""}}]}"#,
            "{}",
        ])
        #expect(run.events.last?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        #expect(!run.text.contains(#""usage""#), "no usage chunk without include_usage")
        #expect(run.text.hasSuffix("data: [DONE]\n\n"))
        #expect(run.usage == PluginUsage(prompt: 40, completion: 22))
    }

    @Test func streamsReasoningText() throws {
        let run = StreamRun(try stream(includeUsage: false), try F.frames([
            F.event("messageStart", #"{"role":"assistant"}"#),
            F.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm."}}}"#),
            F.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}}"#),
            F.event("messageStop", #"{"stopReason":"max_tokens"}"#),
        ]))
        #expect(run.error == nil)
        #expect(run.events.map { $0["choices"]?[0]?["delta"]?.jsonString ?? "" }
            == [#"{"role":"assistant","content":""}"#, #"{"reasoning_content":"Hmm."}"#, "{}"])
        #expect(run.events.last?["choices"]?[0]?["finish_reason"]?.stringValue == "length")
        #expect(run.text.hasSuffix("data: [DONE]\n\n"), "[DONE] from finish() when no metadata came")
        #expect(run.usage.isEmpty)
    }

    @Test func endsWithTheExceptionAfterTheEventsBeforeIt() throws {
        for (type, message) in [("throttlingException", "Too many tokens, please wait before trying again."),
                                ("modelStreamErrorException", "Model stream ended unexpectedly"),
                                ("internalServerException", "Internal error")] {
            let bytes = try F.frames(Array(Self.textMessages.prefix(2)) + [.exception(type, message: message)] + Array(Self.textMessages.suffix(4)))
            let run = StreamRun(try stream(), bytes)
            #expect(run.error?.kind == .upstream)
            #expect(run.error?.message == "\(type): \(message)")
            #expect(run.events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue } == ["", "Hel"])
            #expect(!run.text.contains("[DONE]"))
        }
        let error = StreamRun(try stream(), try F.frames([Self.textMessages[0], .error(code: "InternalFailure", message: "boom")]))
        #expect(error.error?.message == "InternalFailure: boom")
    }

    @Test func refusesACorruptFrame() throws {
        var bytes = try F.frames(Self.textMessages)
        let second = try EventStreamEncoder.encode(Self.textMessages[0]).count
        bytes[second + 20] ^= 0x01  // inside the second frame's headers
        let run = StreamRun(try stream(), bytes)
        #expect(run.error?.kind == .upstream)
        #expect(run.error?.message.contains("CRC32 mismatch") == true, "\(run.error?.message ?? "")")
        #expect(run.events.count == 1, "the first frame's chunk is kept")
    }

    @Test func refusesATruncatedStreamAndOneWithoutMessageStop() throws {
        let bytes = try F.frames(Self.textMessages)
        let truncated = StreamRun(try stream(), Array(bytes.dropLast(3)))
        #expect(truncated.error?.kind == .upstream)
        #expect(truncated.error?.message.contains("ended inside a message") == true)

        let unstopped = StreamRun(try stream(), try F.frames(Array(Self.textMessages.prefix(3))))
        #expect(unstopped.error?.kind == .upstream)
        #expect(unstopped.error?.message.contains("before messageStop") == true)
        #expect(!unstopped.text.contains("[DONE]"))
    }

    @Test func refusesMalformedEvents() throws {
        let cases: [(EventStreamMessage, String)] = [
            (F.event("contentBlockDelta", "not json"), "not JSON"),
            (F.event("contentBlockDelta", #"{"contentBlockIndex":0}"#), "no delta"),
            (F.event("contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"toolUse":{}}}"#), "no string input"),
            (F.event("contentBlockStart", #"{"contentBlockIndex":0,"start":{"toolUse":{"name":"f"}}}"#), "toolUseId"),
            (EventStreamMessage(headers: [":message-type": .string("event")]), ":event-type"),
        ]
        for (message, fragment) in cases {
            let run = StreamRun(try stream(), try F.frames([Self.textMessages[0], message]))
            #expect(run.error?.kind == .upstream)
            #expect(run.error?.message.contains(fragment) == true, "\(run.error?.message ?? "no error")")
            #expect(run.events.count == 1)
        }
    }

    @Test func ignoresUnknownEventsAndEventsAfterTheEnd() throws {
        let run = StreamRun(try stream(includeUsage: false), try F.frames([
            Self.textMessages[0], F.event("somethingNew", #"{"x":1}"#), Self.textMessages[1],
            Self.textMessages[4], Self.textMessages[5], Self.textMessages[2],
        ]))
        #expect(run.error == nil)
        #expect(run.events.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue } == ["", "Hel"])
        #expect(run.text.components(separatedBy: "[DONE]").count == 2)
    }
}
