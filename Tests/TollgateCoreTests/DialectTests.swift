import Testing
@testable import TollgateCore

@Suite struct AnthropicDialectTests {
    @Test func convertsARequestWithToolsImagesAndResults() throws {
        let body = try JSONParser.parse(#"""
        {"model":"m","max_tokens":9,"system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],
         "stop_sequences":["X"],"tools":[{"name":"f","input_schema":{"type":"object"}}],
         "tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},
         "messages":[
          {"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAA"}}]},
          {"role":"assistant","content":[{"type":"thinking","thinking":"hm"},{"type":"tool_use","id":"t1","name":"f","input":{"q":1}},{"type":"tool_use","id":"t2","name":"f","input":{}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"one"},{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"two"}]},{"type":"text","text":"thanks"}]}]}
        """#)
        let ir = try AnthropicRequest.toIR(body)
        let messages = try #require(ir["messages"]?.arrayValue)
        #expect(messages.count == 6)
        #expect(messages[0] == .object(["role": .string("system"), "content": .string("a\nb")]))
        #expect(messages[1]["content"]?[1]?["image_url"]?["url"]?.stringValue == "data:image/png;base64,AAA")
        #expect(messages[2]["content"] == .null)
        #expect(messages[2]["tool_calls"]?[0]?["function"]?["arguments"]?.stringValue == #"{"q":1}"#)
        #expect(messages[3] == .object(["role": .string("tool"), "tool_call_id": .string("t1"), "content": .string("one")]))
        #expect(messages[4]["content"]?.stringValue == "two")
        #expect(messages[5]["role"]?.stringValue == "user")
        #expect(ir["stop"] == .array([.string("X")]))
        #expect(ir["tool_choice"]?["function"]?["name"]?.stringValue == "f")
        #expect(ir["parallel_tool_calls"] == .bool(false))
        #expect(ir["tools"]?[0]?["function"]?["parameters"] == .object(["type": .string("object")]))
    }

    @Test func refusesMalformedRequestsClearly() {
        let cases = [#"{"messages":[]}"#, #"{"model":"m"}"#, #"{"model":"m","messages":[{"role":"system","content":"x"}]}"#,
                     #"{"model":"m","messages":[{"role":"user","content":[{"type":"video"}]}]}"#,
                     #"{"model":"m","messages":[],"tool_choice":{"type":"maybe"}}"#]
        for text in cases {
            #expect(throws: GatewayError.self, "\(text)") { try AnthropicRequest.toIR(try JSONParser.parse(text)) }
        }
    }

    @Test func translatesACompleteAnswerAndErrors() throws {
        let translator = AnthropicTranslator(model: "claude-x")
        let answer = #"{"id":"c1","choices":[{"message":{"content":"hi","tool_calls":[{"id":"k","function":{"name":"f","arguments":"{\"a\":2}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":40}}}"#
        let message = try JSONParser.parse(translator.complete(status: 200, body: Array(answer.utf8)))
        #expect(message["content"]?[0]?["text"]?.stringValue == "hi")
        #expect(message["content"]?[1]?["input"] == .object(["a": .int(2)]))
        #expect(message["stop_reason"]?.stringValue == "tool_use")
        #expect(message["usage"]?["input_tokens"]?.int64Value == 60)
        #expect(message["usage"]?["cache_read_input_tokens"]?.int64Value == 40)
        let error = try JSONParser.parse(translator.complete(status: 429, body: Array(#"{"error":{"message":"slow down"}}"#.utf8)))
        #expect(error == AnthropicErrors.object(status: 429, message: "slow down"))
        #expect(error["error"]?["type"]?.stringValue == "rate_limit_error")
    }

    static let stream = """
    data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}

    data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hel"}}]}

    data: {"id":"c","choices":[{"index":0,"delta":{"content":"lo"}}]}

    data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"k","function":{"name":"f","arguments":"{\\"a\\""}}]}}]}

    data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}

    data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

    data: {"id":"c","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3}}

    data: [DONE]


    """

    func translate(_ text: String, chunk: Int) -> String {
        let translator = AnthropicTranslator(model: "m")
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            out += Array(bytes[start..<min(bytes.count, start + chunk)]).withUnsafeBytes { translator.streamChunk($0) }
        }
        return String(decoding: out + translator.streamEnd(), as: UTF8.self)
    }

    @Test func translatesAStreamWhateverTheSplit() throws {
        let whole = translate(Self.stream, chunk: 100_000)
        let names = whole.split(separator: "\n").filter { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) }
        #expect(names == ["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                          "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                          "message_delta", "message_stop"])
        #expect(whole.contains(#""stop_reason":"tool_use""#))
        #expect(whole.contains(#""output_tokens":3"#))
        for size in [1, 2, 7, 13] { #expect(translate(Self.stream, chunk: size) == whole, "split every \(size)") }
    }

    @Test func anUpstreamErrorEventEndsTheStream() {
        let out = translate("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\n", chunk: 9)
        #expect(out.hasSuffix("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n"))
    }
}

@Suite struct GeminiDialectTests {
    @Test func convertsARequestReadingBothCases() throws {
        let body = try JSONParser.parse(#"""
        {"system_instruction":{"parts":[{"text":"sys"}]},
         "contents":[{"role":"user","parts":[{"text":"look"},{"inline_data":{"mime_type":"image/png","data":"AAA"}}]},
                     {"role":"model","parts":[{"functionCall":{"name":"f","args":{"q":1}}},{"functionCall":{"name":"g","args":{}}}]},
                     {"role":"user","parts":[{"functionResponse":{"name":"g","response":{"r":2}}},{"functionResponse":{"name":"f","response":{"r":1}}}]}],
         "generationConfig":{"maxOutputTokens":5,"stop_sequences":["S"],"responseMimeType":"application/json"},
         "tools":[{"function_declarations":[{"name":"f","parameters_json_schema":{"type":"object"}}]}],
         "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}}
        """#)
        let ir = try GeminiRequest.toIR(body, model: "gem", stream: true)
        let messages = try #require(ir["messages"]?.arrayValue)
        #expect(messages[0]["content"]?.stringValue == "sys")
        #expect(messages[1]["content"]?[1]?["image_url"]?["url"]?.stringValue == "data:image/png;base64,AAA")
        let calls = try #require(messages[2]["tool_calls"]?.arrayValue)
        #expect(messages[3]["tool_call_id"] == calls[1]["id"], "g's response goes to g's call")
        #expect(messages[4]["tool_call_id"] == calls[0]["id"])
        #expect(ir["max_tokens"]?.int64Value == 5 && ir["stop"] == .array([.string("S")]))
        #expect(ir["response_format"]?["type"]?.stringValue == "json_object")
        #expect(ir["tools"]?[0]?["function"]?["parameters"] == .object(["type": .string("object")]))
        #expect(ir["tool_choice"]?["function"]?["name"]?.stringValue == "f")
        #expect(ir["stream_options"]?["include_usage"] == .bool(true))
    }

    @Test func openAPISchemasBecomeJSONSchemas() throws {
        let body = try JSONParser.parse(#"{"contents":[{"parts":[{"text":"x"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{"type":{"type":"STRING"},"tags":{"type":"ARRAY","items":{"type":"STRING"}}}}}]}]}"#)
        let ir = try GeminiRequest.toIR(body, model: "m", stream: false)
        #expect(ir["tools"]?[0]?["function"]?["parameters"] == (try JSONParser.parse(
            #"{"type":"object","properties":{"type":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}}}}"#)))
    }

    @Test func refusesMalformedRequestsClearly() {
        for text in [#"{}"#, #"{"contents":[{"role":"tool","parts":[]}]}"#, #"{"contents":[{"parts":[{"video":1}]}]}"#] {
            #expect(throws: GatewayError.self, "\(text)") { try GeminiRequest.toIR(try JSONParser.parse(text), model: "m", stream: false) }
        }
    }

    @Test func translatesAStreamAsSSEOrAsAJSONArray() throws {
        func run(sse: Bool, chunk: Int) -> String {
            let translator = GeminiTranslator(model: "m", sse: sse)
            let bytes = Array(AnthropicDialectTests.stream.utf8)
            var out: [UInt8] = []
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                out += Array(bytes[start..<min(bytes.count, start + chunk)]).withUnsafeBytes { translator.streamChunk($0) }
            }
            return String(decoding: out, as: UTF8.self)
        }
        let array = run(sse: false, chunk: 5)
        let parsed = try #require(try? JSONParser.parse(array).arrayValue)
        #expect(parsed.count == 3)
        #expect(parsed[2]["candidates"]?[0]?["content"]?["parts"]?[0]?["functionCall"]?["args"] == .object(["a": .int(1)]))
        #expect(parsed[2]["usageMetadata"]?["candidatesTokenCount"]?.int64Value == 3)
        let sse = run(sse: true, chunk: 3)
        #expect(sse.components(separatedBy: "\r\n\r\n").filter { !$0.isEmpty }.count == 3)
        #expect(run(sse: true, chunk: 100_000) == sse)
    }

    @Test func routesReadTheModelAndMethodFromThePath() {
        #expect(GeminiRoute(path: "/v1beta/models/gemini-2.0-flash:generateContent").map { ($0.model, $0.stream) }! == ("gemini-2.0-flash", false))
        #expect(GeminiRoute(path: "/v1/models/a%2Fb:streamGenerateContent")?.model == "a/b")
        #expect(GeminiRoute(path: "/v1beta/models/x:countTokens")?.method == .countTokens)
        #expect(GeminiRoute(path: "/v1beta/models/x:batchEmbedContents")?.method == .batchEmbedContents)
        #expect(GeminiRoute(path: "/v1beta/models/x:predict") == nil)
        #expect(GeminiRoute(path: "/v1/models") == nil)
    }
}
