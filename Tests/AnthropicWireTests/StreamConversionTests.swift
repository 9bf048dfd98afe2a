import Testing
@testable import TollgatePluginKit
@testable import AnthropicWire

/// A stream as Anthropic sends it: thinking, text, then two tool calls, with cache usage.
let anthropicStream = [
    Wire.event("message_start", #"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":1}}}"#),
    Wire.event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me see."}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"c2ln"}}"#),
    Wire.event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
    Wire.event("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#),
    Wire.event("ping", #"{"type": "ping"}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Héllo "}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"wörld 👋"}}"#),
    Wire.event("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
    Wire.event("content_block_start", #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}"#),
    Wire.event("content_block_stop", #"{"type":"content_block_stop","index":2}"#),
    Wire.event("content_block_start", #"{"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_2","name":"now","input":{}}}"#),
    Wire.event("content_block_delta", #"{"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#),
    Wire.event("content_block_stop", #"{"type":"content_block_stop","index":3}"#),
    Wire.event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":10}}"#),
    Wire.event("message_stop", #"{"type":"message_stop"}"#),
].joined()

@Suite struct StreamConversionTests {
    @Test func convertsAStream() throws {
        let (out, usage, error) = Wire.run(anthropicStream, includeUsage: true)
        #expect(error == nil)
        let chunk = #""id":"msg_01","object":"chat.completion.chunk","created":0,"model":"my-claude""#
        let expected = [
            #"{\#(chunk),"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"reasoning_content":"Let me see."},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"content":"Héllo "},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"content":"wörld 👋"},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Pa"}}]},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ris\"}"}}]},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"toolu_2","type":"function","function":{"name":"now","arguments":""}}]},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}"#,
            #"{\#(chunk),"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            #"{\#(chunk),"choices":[],"usage":{"prompt_tokens":175,"completion_tokens":10,"total_tokens":185,"prompt_tokens_details":{"cached_tokens":50,"cache_creation_tokens":25}}}"#,
        ].map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
        #expect(out.text == expected)
        #expect(usage == PluginUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))
    }

    @Test func withoutIncludeUsageThereIsNoUsageChunk() {
        let (out, usage, error) = Wire.run(anthropicStream)
        #expect(error == nil)
        let events = Wire.events(out)
        #expect(!events.contains { $0["usage"] != nil })
        #expect(events.last == .string("[DONE]"))
        #expect(usage.prompt == 175 && usage.completion == 10, "usage is counted for the gateway anyway")
    }

    @Test func anySplitGivesTheSameOutput() {
        let bytes = Array(anthropicStream.utf8)
        let whole = Wire.run([bytes], includeUsage: true)
        let byteByByte = Wire.run(bytes.map { [$0] }, includeUsage: true)
        #expect(byteByByte.out == whole.out && byteByByte.usage == whole.usage && byteByByte.error == nil)
        for cut in 1..<bytes.count {
            let split = Wire.run([Array(bytes[..<cut]), Array(bytes[cut...])], includeUsage: true)
            if split.out != whole.out || split.usage != whole.usage || split.error != nil {
                Issue.record("split at byte \(cut) differs")
                break
            }
        }
    }

    @Test func readsCRLFLineEnds() {
        let crlf = anthropicStream.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(Wire.run(crlf, includeUsage: true).out == Wire.run(anthropicStream, includeUsage: true).out)
    }

    @Test func usageLaterEventsDoNotEraseEarlierCounts() {
        let stream = [
            Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":1}}}"#),
            Wire.event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":10,"input_tokens":null}}"#),
            Wire.event("message_stop", #"{"type":"message_stop"}"#),
        ].joined()
        var usage = PluginUsage()
        let stream1 = try! Wire.stream()
        _ = try! Wire.feed(stream1, Array(stream.utf8), &usage)
        _ = try! stream1.finish(usage: &usage)
        #expect(usage == PluginUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))
    }

    /// Counts are the upstream's words: three near Int64.max add up to Int64.max (the sum trapped
    /// and stopped the process), in a stream and in a complete answer.
    @Test func hugeCountsSaturateInsteadOfStoppingTheProcess() throws {
        let max = Int64.max
        let stream = Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":\#(max),"cache_read_input_tokens":\#(max),"cache_creation_input_tokens":1,"output_tokens":1}}}"#)
            + Wire.event("message_stop", #"{"type":"message_stop"}"#)
        let (_, usage, error) = Wire.run(stream)
        #expect(error == nil)
        #expect(usage == PluginUsage(prompt: max, completion: 1, cacheRead: max, cacheCreation: 1))
        let converted = try Wire.convertResponse(Wire.response(#"{"content":[],"usage":{"input_tokens":\#(max),"cache_creation_input_tokens":\#(max),"output_tokens":2}}"#))
        #expect(converted.usage.prompt == max && converted.usage.cacheCreation == max)
    }

    @Test func errorEventFailsTheStreamAfterWhatCameBefore() {
        let stream = [
            Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#),
            Wire.event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#),
            Wire.event("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        ].joined()
        let (out, usage, error) = Wire.run(stream)
        #expect(error?.kind == .upstream)
        #expect(error?.message == "overloaded_error: Overloaded")
        let events = Wire.events(out)
        #expect(events.count == 2, "the chunks before the error, and no error event of the plugin's own")
        #expect(events.last?["choices"]?[0]?["delta"]?["content"]?.stringValue == "Hi")
        #expect(usage.prompt == 5)
    }

    @Test func endingBeforeMessageStopFails() {
        let truncated = Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#)
            + #"event: content_block_delta\#ndata: {"type":"content_blo"#
        let (_, _, error) = Wire.run(truncated)
        #expect(error?.kind == .upstream)
        let (_, _, cleanEnd) = Wire.run(Wire.event("message_start", #"{"type":"message_start","message":{"id":"m"}}"#))
        #expect(cleanEnd?.message == "stream ended before message_stop")
    }

    @Test func aFinalEventWithoutItsBlankLineIsStillRead() {
        let stream = anthropicStream.dropLast(2) + "\n"
        let (out, _, error) = Wire.run(String(stream))
        #expect(error == nil)
        #expect(Wire.events(out).last == .string("[DONE]"))
    }

    @Test func malformedEventsFail() {
        let (_, _, error) = Wire.run("event: message_start\ndata: {not json}\n\n")
        #expect(error?.kind == .upstream)
        var reader = SSEParser(maxEventBytes: 64)
        #expect(throws: PluginError.self) { try reader.read(Array(repeating: UInt8(ascii: "a"), count: 100)) { _ in } }
    }

    @Test func unknownStopReasonAndEventsAreTolerated() {
        let stream = [
            Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#),
            Wire.event("brand_new_event", #"{"type":"brand_new_event","x":1}"#),
            ": a comment\n\n",
            Wire.event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}"#),
            Wire.event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"brand_new_reason"},"usage":{"output_tokens":2}}"#),
            Wire.event("message_stop", #"{"type":"message_stop"}"#),
        ].joined()
        let (out, usage, error) = Wire.run(stream)
        #expect(error == nil)
        #expect(Wire.events(out).contains { $0["choices"]?[0]?["finish_reason"]?.stringValue == "stop" })
        #expect(usage.completion == 2)
    }
}

@Suite struct PassthroughStreamTests {
    @Test func forwardsBytesUnchangedAndReadsUsage() {
        let bytes = Array(anthropicStream.utf8)
        let whole = Wire.run([bytes], dialect: .anthropic)
        #expect(whole.error == nil)
        #expect(whole.out == bytes)
        #expect(whole.usage == PluginUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))
        let byteByByte = Wire.run(bytes.map { [$0] }, dialect: .anthropic)
        #expect(byteByByte.out == bytes && byteByByte.usage == whole.usage)
        let crlf = Array(anthropicStream.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        #expect(Wire.run([crlf], dialect: .anthropic).out == crlf)
    }

    /// A CRLF stream cut anywhere, between a CR and its LF too: every byte comes out once, in
    /// order, and an error event held back keeps the line end of the event before it.
    @Test func aCRLFStreamCutAnywhereComesOutWhole() {
        let crlf = Array(anthropicStream.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        var checked = 0
        for cut in 1..<crlf.count {
            let run = Wire.run([Array(crlf[..<cut]), Array(crlf[cut...])], dialect: .anthropic)
            #expect(run.out == crlf && run.error == nil, "cut at \(cut)")
            checked += 1
        }
        #expect(checked == crlf.count - 1)
        let start = Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5}}}"#)
            .replacingOccurrences(of: "\n", with: "\r\n")
        let failing = Array((start + Wire.event("error", #"{"type":"error","error":{"type":"api_error","message":"boom"}}"#)).utf8)
        let held = Wire.run([Array(failing[..<(start.utf8.count - 1)]), Array(failing[(start.utf8.count - 1)...])], dialect: .anthropic)
        #expect(held.error?.message == "api_error: boom")
        #expect(held.out.text == start, "the LF of the last CRLF before the error still goes out")
    }

    @Test func holdsBackAnErrorEventForTheCore() {
        let start = Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":5,"output_tokens":1}}}"#)
        let (out, usage, error) = Wire.run(start + Wire.event("error", #"{"type":"error","error":{"type":"api_error","message":"boom"}}"#),
                                             dialect: .anthropic)
        #expect(error?.message == "api_error: boom")
        #expect(out.text == start)
        #expect(usage.prompt == 5)
        let (_, _, early) = Wire.run(start, dialect: .anthropic)
        #expect(early?.message == "stream ended before message_stop")
    }
}
