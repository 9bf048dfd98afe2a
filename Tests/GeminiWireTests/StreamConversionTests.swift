import Foundation
import Testing
import TollgatePluginKit
@testable import GeminiWire

/// A Gemini `alt=sse` stream as the API writes it (CRLF line ends).
let textStream = bytes(
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hel\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 12,\"totalTokenCount\": 12},\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"r-1\"}\r\n\r\n"
    + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"lo ✓\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 12,\"candidatesTokenCount\": 3,\"totalTokenCount\": 15},\"responseId\": \"r-1\"}\r\n\r\n"
    + "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 12,\"cachedContentTokenCount\": 8,\"candidatesTokenCount\": 4,\"thoughtsTokenCount\": 2,\"totalTokenCount\": 18},\"responseId\": \"r-1\"}\r\n\r\n")

func chatStream(includeUsage: Bool = true) -> GeminiChatStream {
    GeminiChatStream(model: "client-model", includeUsage: includeUsage, created: 1_700_000_000)
}

@Suite struct StreamConversionTests {
    @Test func textStreamBecomesOpenAIChunks() throws {
        let (out, usage) = try run(chatStream(), textStream)
        let all = events(out)
        #expect(all.last! == nil, "ends with [DONE]")
        let chunks = all.compactMap { $0 }
        #expect(chunks.allSatisfy { $0["id"]?.stringValue == "chatcmpl-r-1" && $0["object"]?.stringValue == "chat.completion.chunk" && $0["model"]?.stringValue == "client-model" })
        #expect(chunks[0]["choices"]?[0]?["delta"] == json(#"{"role":"assistant","content":"Hel"}"#))
        #expect(chunks[1]["choices"]?[0]?["delta"] == json(#"{"content":"lo ✓"}"#))
        #expect(chunks[2]["choices"]?[0]?["delta"] == json("{}"))
        #expect(chunks[2]["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(chunks[3]["choices"] == json("[]"))
        #expect(chunks[3]["usage"] == json("""
        {"prompt_tokens":12,"completion_tokens":6,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":2}}
        """))
        #expect(chunks.count == 4)
        #expect(usage == PluginUsage(prompt: 12, completion: 6, cacheRead: 8, reasoning: 2))
    }

    @Test func withoutIncludeUsageThereIsNoUsageChunk() throws {
        let (out, usage) = try run(chatStream(includeUsage: false), textStream)
        #expect(events(out).compactMap { $0 }.allSatisfy { $0["usage"] == nil })
        #expect(usage.completion == 6, "usage is still reported to the gateway")
    }

    @Test func splittingAtEveryByteGivesTheSameOutput() throws {
        let whole = try run(chatStream(), textStream).out
        for cut in 1..<textStream.count {
            let (out, _) = try run(chatStream(), textStream, cuts: [cut])
            #expect(out == whole, "cut at \(cut)")
        }
        let (byteByByte, usage) = try run(chatStream(), textStream, cuts: Array(1..<textStream.count))
        #expect(byteByByte == whole)
        #expect(usage.prompt == 12)
    }

    @Test func lfAndCRLineEndsReadAlike() throws {
        let crlf = try run(chatStream(), textStream).out
        let text = String(decoding: textStream, as: UTF8.self)
        let lf = try run(chatStream(), bytes(text.replacingOccurrences(of: "\r\n", with: "\n"))).out
        let cr = try run(chatStream(), bytes(text.replacingOccurrences(of: "\r\n", with: "\r"))).out
        #expect(lf == crlf && cr == crlf)
    }

    @Test func functionCallsBecomeCompleteToolCallDeltas() throws {
        let input = bytes("""
        data: {"candidates":[{"content":{"parts":[{"text":"Checking."}],"role":"model"}}],"responseId":"r2"}

        data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"get_time","args":{}}}],"role":"model"}}],"responseId":"r2"}

        data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_news","args":{"n":1}}}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":9},"responseId":"r2"}


        """)
        let chunks = events(try run(chatStream(includeUsage: false), input).out).compactMap { $0 }
        #expect(chunks[0]["choices"]?[0]?["delta"] == json(#"{"role":"assistant","content":"Checking."}"#))
        #expect(chunks[1]["choices"]?[0]?["delta"] == json("""
        {"tool_calls":[{"index":0,"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
                       {"index":1,"id":"call_1","type":"function","function":{"name":"get_time","arguments":"{}"}}]}
        """))
        #expect(chunks[2]["choices"]?[0]?["delta"]?["tool_calls"]?[0]?["index"]?.int64Value == 2)
        #expect(chunks[2]["choices"]?[0]?["delta"]?["tool_calls"]?[0]?["id"]?.stringValue == "call_2")
        #expect(chunks[3]["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
    }

    @Test func reasoningAndLengthFinish() throws {
        let input = bytes(#"data: {"candidates":[{"content":{"parts":[{"text":"hmm","thought":true},{"text":"A"}]},"finishReason":"MAX_TOKENS"}]}"# + "\n\n")
        let chunks = events(try run(chatStream(includeUsage: false), input).out).compactMap { $0 }
        #expect(chunks[0]["choices"]?[0]?["delta"] == json(#"{"role":"assistant","reasoning_content":"hmm","content":"A"}"#))
        #expect(chunks[1]["choices"]?[0]?["finish_reason"]?.stringValue == "length")
    }

    @Test func aBlockedPromptEndsWithContentFilter() throws {
        let input = bytes(#"data: {"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}}"# + "\r\n\r\n")
        let (out, usage) = try run(chatStream(includeUsage: false), input)
        let chunks = events(out).compactMap { $0 }
        #expect(chunks[0]["choices"]?[0]?["delta"] == json(#"{"role":"assistant","content":""}"#))
        #expect(chunks[1]["choices"]?[0]?["finish_reason"]?.stringValue == "content_filter")
        #expect(usage.prompt == 4 && usage.completion == 0)
    }

    @Test func usageFieldsAreNeverErased() throws {
        let stream = chatStream(includeUsage: false)
        var usage = PluginUsage()
        let first = bytes(#"data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}],"usageMetadata":{"promptTokenCount":10,"cachedContentTokenCount":6,"candidatesTokenCount":1}}"# + "\n\n")
        let second = bytes(#"data: {"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP"}],"usageMetadata":{"candidatesTokenCount":2}}"# + "\n\n")
        _ = try feed(stream, first, &usage)
        #expect(usage == PluginUsage(prompt: 10, completion: 1, cacheRead: 6))
        _ = try feed(stream, second, &usage)
        #expect(usage == PluginUsage(prompt: 10, completion: 2, cacheRead: 6))
        _ = try stream.finish(usage: &usage)
        #expect(usage == PluginUsage(prompt: 10, completion: 2, cacheRead: 6))
    }

    @Test func anErrorEventFailsTheStreamKeepingEarlierOutput() {
        let input = bytes(#"data: {"candidates":[{"content":{"parts":[{"text":"Hi"}]}}]}"# + "\r\n\r\n"
            + #"data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"# + "\r\n\r\n")
        var usage = PluginUsage()
        do {
            _ = try feed(chatStream(), input, &usage)
            Issue.record("the error event was not reported")
        } catch {
            #expect(error.kind == .upstream)
            #expect(error.message == "Gemini error UNAVAILABLE: The model is overloaded.")
            #expect(events(error.output).first??["choices"]?[0]?["delta"]?["content"]?.stringValue == "Hi")
            #expect(!String(decoding: error.output, as: UTF8.self).contains("error"), "the core writes the error event, not the plugin")
        }
    }

    @Test func aStreamCutBeforeFinishReasonFails() {
        let events = String(decoding: textStream, as: UTF8.self).components(separatedBy: "\r\n\r\n")
        let cut = bytes(events.prefix(2).joined(separator: "\r\n\r\n") + "\r\n\r\ndata: {\"candi")
        do {
            _ = try run(chatStream(), cut)
            Issue.record("a cut stream finished cleanly")
        } catch {
            #expect(error.kind == .upstream && error.message == "stream ended before finishReason")
        }
    }

    @Test func nonJSONEventsAndOversizedEventsFail() {
        do { _ = try run(chatStream(), bytes("data: nope\n\n")); Issue.record("accepted") } catch { #expect(error.kind == .upstream) }
        let small = GeminiChatStream(model: "m", includeUsage: false, created: 0, maxEventBytes: 64)
        do { _ = try run(small, bytes("data: " + String(repeating: "x", count: 100))); Issue.record("accepted") } catch { #expect(error.kind == .upstream) }
    }
}

@Suite struct PassthroughStreamTests {
    @Test func forwardsBytesUnchangedAndReadsUsage() throws {
        for cuts in [[], [1], [37, 300, 301], Array(stride(from: 1, to: textStream.count, by: 7))] {
            let (out, usage) = try run(GeminiPassthroughStream(), textStream, cuts: cuts)
            #expect(out == textStream)
            #expect(usage == PluginUsage(prompt: 12, completion: 6, cacheRead: 8, reasoning: 2))
        }
    }

    @Test func aCutStreamFailsButAForwardedErrorDoesNot() throws {
        do { _ = try run(GeminiPassthroughStream(), Array(textStream.prefix(200))); Issue.record("accepted") }
        catch { #expect(error.kind == .upstream) }
        let error = bytes(#"data: {"error":{"code":500,"message":"x","status":"INTERNAL"}}"# + "\r\n\r\n")
        #expect(try run(GeminiPassthroughStream(), error).out == error)
    }
}
