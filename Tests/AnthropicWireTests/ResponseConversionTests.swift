import Testing
@testable import TollgatePluginKit
@testable import AnthropicWire

@Suite struct ResponseConversionTests {
    @Test func convertsTextWithCacheUsage() throws {
        let converted = try Wire.convertResponse(Wire.response(#"""
        {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
         "content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],
         "stop_reason":"end_turn","stop_sequence":null,
         "usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":10,
                  "cache_creation":{"ephemeral_5m_input_tokens":5,"ephemeral_1h_input_tokens":20}}}
        """#))
        #expect(converted.status == 200)
        let json = Wire.json(converted.body.text)
        #expect(json == Wire.json(#"""
        {"id":"msg_01","object":"chat.completion","created":0,"model":"my-claude",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":175,"completion_tokens":10,"total_tokens":185,
                  "prompt_tokens_details":{"cached_tokens":50,"cache_creation_tokens":25}}}
        """#))
        var expected = PluginUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25)
        expected.cacheCreation1h = 20
        #expect(converted.usage == expected)
    }

    @Test func convertsToolUseAndThinking() throws {
        let converted = try Wire.convertResponse(Wire.response(#"""
        {"id":"msg_02","type":"message","role":"assistant","content":[
          {"type":"thinking","thinking":"Paris first.","signature":"sig=="},
          {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris","days":2}}],
         "stop_reason":"tool_use","usage":{"input_tokens":30,"output_tokens":12}}
        """#))
        let message = Wire.json(converted.body.text)["choices"]?[0]?["message"]
        #expect(message?["content"] == .null)
        #expect(message?["tool_calls"] == Wire.json(#"[{"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":2}"}}]"#))
        #expect(message?["reasoning_content"]?.stringValue == "Paris first.")
        #expect(message?["thinking_blocks"]?[0]?["signature"]?.stringValue == "sig==")
        #expect(Wire.json(converted.body.text)["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        #expect(converted.usage == PluginUsage(prompt: 30, completion: 12))
    }

    /// The answer is written member by member, not through a tree: pin its exact bytes (member
    /// order, escaping, the null content beside tool calls, thinking blocks kept whole).
    @Test func writesTheExactOpenAIBytes() throws {
        let converted = try Wire.convertResponse(Wire.response(#"""
        {"id":"msg_03","type":"message","role":"assistant","content":[
          {"type":"thinking","thinking":"Say \"hi\".","signature":"s1"},{"type":"redacted_thinking","data":"xyz"},
          {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}},
          {"type":"tool_use","id":"toolu_1","name":"f","input":{"a":[1,"\n"]}},{"type":"tool_use","id":"toolu_2","name":"g","input":{}}],
         "stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4,"cache_creation_input_tokens":2}}
        """#))
        #expect(converted.body.text == #"{"id":"msg_03","object":"chat.completion","created":0,"model":"my-claude","choices":[{"index":0,"#
            + #""message":{"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","#
            + #""arguments":"{\"a\":[1,\"\\n\"]}"}},{"id":"toolu_2","type":"function","function":{"name":"g","arguments":"{}"}}],"#
            + #""reasoning_content":"Say \"hi\".","thinking_blocks":[{"type":"thinking","thinking":"Say \"hi\".","signature":"s1"},"#
            + #"{"type":"redacted_thinking","data":"xyz"}]},"finish_reason":"tool_calls"}],"#
            + #""usage":{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9,"prompt_tokens_details":{"cached_tokens":0,"cache_creation_tokens":2}}}"#)
        let text = try Wire.convertResponse(Wire.response(#"{"id":"m","content":[{"type":"text","text":"a\tb"}],"usage":{}}"#))
        #expect(text.body.text == #"{"id":"m","object":"chat.completion","created":0,"model":"my-claude","choices":[{"index":0,"#
            + #""message":{"role":"assistant","content":"a\tb"},"finish_reason":"stop"}],"#
            + #""usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"prompt_tokens_details":{"cached_tokens":0}}}"#)
    }

    @Test func mapsStopReasons() {
        #expect(ResponseConversion.finishReason("end_turn") == "stop")
        #expect(ResponseConversion.finishReason("stop_sequence") == "stop")
        #expect(ResponseConversion.finishReason("max_tokens") == "length")
        #expect(ResponseConversion.finishReason("tool_use") == "tool_calls")
        #expect(ResponseConversion.finishReason("refusal") == "content_filter")
        #expect(ResponseConversion.finishReason("something_new") == "stop")
        #expect(ResponseConversion.finishReason(nil) == "stop")
    }

    @Test func unknownStopReasonStillAnswers() throws {
        let converted = try Wire.convertResponse(Wire.response(#"{"id":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"brand_new_reason","usage":{"input_tokens":1,"output_tokens":1}}"#))
        #expect(converted.status == 200)
        #expect(Wire.json(converted.body.text)["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
    }

    @Test func convertsErrorsKeepingTheStatus() throws {
        let converted = try Wire.convertResponse(Wire.response(
            #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, status: 529))
        #expect(converted.status == 529)
        #expect(Wire.json(converted.body.text) == Wire.json(#"{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":"overloaded_error"}}"#))
        #expect(converted.usage.isEmpty)

        let html = try Wire.convertResponse(Wire.response("<html>bad gateway</html>", status: 502))
        #expect(html.status == 502)
        #expect(Wire.json(html.body.text)["error"]?["message"]?.stringValue == "Anthropic answered HTTP 502: <html>bad gateway</html>")
    }

    @Test func malformedSuccessIsAnUpstreamError() {
        for body in [#"{"id":"m","content":[{"type":"text""#, "not json", #"{"id":"m"}"#, "[]"] {
            do {
                _ = try Wire.convertResponse(Wire.response(body))
                Issue.record("expected a failure for \(body)")
            } catch {
                #expect(error.kind == .upstream)
            }
        }
    }

    @Test func passthroughKeepsTheBodyAndReadsUsage() throws {
        let body = #"{"id":"msg_01","type":"message","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":100,"cache_read_input_tokens":50,"cache_creation_input_tokens":25,"output_tokens":10}}"#
        let converted = try Wire.convertResponse(Wire.response(body, dialect: .anthropic))
        #expect(converted.body == Array(body.utf8))
        #expect(converted.status == 200)
        #expect(converted.usage == PluginUsage(prompt: 175, completion: 10, cacheRead: 50, cacheCreation: 25))

        let error = #"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#
        let failed = try Wire.convertResponse(Wire.response(error, status: 429, dialect: .anthropic))
        #expect(failed.status == 429 && failed.body == Array(error.utf8) && failed.usage.isEmpty)
    }
}
