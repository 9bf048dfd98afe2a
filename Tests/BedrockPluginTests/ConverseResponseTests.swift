import Testing
import TollgatePluginKit
@testable import BedrockPlugin

@Suite struct ConverseResponseTests {
    static let headers = [("x-amzn-requestid", "3f1c-req"), ("content-type", "application/json")]

    @Test func convertsATextAnswerWithCacheUsage() throws {
        let body = #"{"metrics":{"latencyMs":412},"output":{"message":{"role":"assistant","content":[{"text":"Hello"},{"text":" there"}]}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":5,"totalTokens":117,"cacheReadInputTokens":80,"cacheWriteInputTokens":20}}"#
        let converted = try PluginFixture.bedrock().convert(status: 200, headers: Self.headers, body: Array(body.utf8), model: "claude")
        #expect(converted.status == 200)
        #expect(String(decoding: converted.body, as: UTF8.self) == #"{"id":"chatcmpl-3f1c-req","object":"chat.completion","created":1720000000,"model":"claude","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":112,"completion_tokens":5,"total_tokens":117,"prompt_tokens_details":{"cached_tokens":80},"cache_creation_input_tokens":20}}"#)
        var expected = PluginUsage(prompt: 112, completion: 5, cacheRead: 80, cacheCreation: 20)
        expected.estimated = false
        #expect(converted.usage == expected)
    }

    @Test func convertsToolUseAndReasoning() throws {
        let body = #"{"output":{"message":{"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Need weather.","signature":"sig"}}},{"toolUse":{"toolUseId":"tooluse_a","name":"get_weather","input":{"city":"Paris","units":["c"]}}},{"toolUse":{"toolUseId":"tooluse_b","name":"now","input":{}}}]}},"stopReason":"tool_use","usage":{"inputTokens":30,"outputTokens":9}}"#
        let converted = try PluginFixture.bedrock().convert(status: 200, headers: Self.headers, body: Array(body.utf8), model: "m")
        let json = try JSONParser.parse(converted.body)
        let message = json["choices"]?[0]?["message"]
        #expect(message?["content"] == .null)
        #expect(message?["reasoning_content"]?.stringValue == "Need weather.")
        #expect(message?["tool_calls"]?.jsonString == #"[{"id":"tooluse_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"units\":[\"c\"]}"}},{"id":"tooluse_b","type":"function","function":{"name":"now","arguments":"{}"}}]"#)
        #expect(json["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        #expect(json["usage"]?.jsonString == #"{"prompt_tokens":30,"completion_tokens":9,"total_tokens":39}"#)
        #expect(converted.usage == PluginUsage(prompt: 30, completion: 9))
    }

    @Test func mapsStopReasons() {
        let table: [(String?, String)] = [
            ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
            ("guardrail_intervened", "content_filter"), ("content_filtered", "content_filter"),
            ("model_context_window_exceeded", "length"), ("something_new", "stop"), (nil, "stop"),
        ]
        for (reason, finish) in table { #expect(ConverseResponse.finishReason(reason) == finish, "\(reason ?? "nil")") }
    }

    @Test func leavesUsageUnreportedWhenAbsent() throws {
        let body = #"{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"end_turn"}"#
        let converted = try PluginFixture.bedrock().convert(status: 200, headers: [], body: Array(body.utf8), model: "m")
        let json = try JSONParser.parse(converted.body)
        #expect(json["usage"] == nil)
        #expect(json["choices"]?[0]?["message"]?["content"]?.stringValue == "")
        #expect(json["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
        #expect(converted.usage.isEmpty)
    }

    @Test func refusesMalformedSuccessfulAnswers() throws {
        let channel = try PluginFixture.bedrock()
        for body in ["", "not json", "{}", #"{"output":{"message":{"content":"text"}}}"#,
                     #"{"output":{"message":{"content":[{"toolUse":{"name":"f"}}]}}}"#] {
            let error = PluginFixture.failure { _ = try channel.convert(status: 200, headers: [], body: Array(body.utf8), model: "m") }
            #expect(error?.kind == .upstream, "\(body)")
        }
    }

    @Test func convertsAWSErrorsKeepingTheStatus() throws {
        let channel = try PluginFixture.bedrock()
        func convert(_ status: Int, _ headers: [(String, String)], _ body: String) throws -> (Int, String) {
            let converted = try channel.convert(status: status, headers: headers, body: Array(body.utf8), model: "m")
            return (converted.status, String(decoding: converted.body, as: UTF8.self))
        }
        #expect(try convert(400, [("x-amzn-errortype", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")],
                            #"{"message":"The model returned the following errors: messages: roles must alternate"}"#)
            == (400, #"{"error":{"message":"The model returned the following errors: messages: roles must alternate","type":"ValidationException","code":null}}"#))
        #expect(try convert(429, [("X-Amzn-ErrorType", "ThrottlingException")], #"{"message":"Too many requests, please wait before trying again."}"#)
            == (429, #"{"error":{"message":"Too many requests, please wait before trying again.","type":"ThrottlingException","code":null}}"#))
        #expect(try convert(403, [], #"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"You don't have access to the model with the specified model ID."}"#)
            == (403, #"{"error":{"message":"You don't have access to the model with the specified model ID.","type":"AccessDeniedException","code":null}}"#))
        #expect(try convert(503, [], "Service Unavailable\n") == (503, #"{"error":{"message":"Service Unavailable","type":"upstream_error","code":null}}"#))
        #expect(try convert(500, [], "") == (500, #"{"error":{"message":"upstream error (HTTP 500)","type":"upstream_error","code":null}}"#))
    }
}
