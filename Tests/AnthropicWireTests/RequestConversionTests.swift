import Testing
@testable import TollgatePluginKit
@testable import AnthropicWire

@Suite struct RequestConversionTests {
    @Test func convertsASimpleChat() throws {
        let body = try Wire.convert(#"{"model":"my-claude","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"temperature":0.3,"top_p":0.9,"max_tokens":100,"stop":"END","user":"u-1","seed":7,"presence_penalty":1}"#,
                                      stream: true)
        #expect(body == Wire.json(#"{"model":"claude-sonnet-4-5","max_tokens":100,"system":"be brief","messages":[{"role":"user","content":"hi"}],"stop_sequences":["END"],"temperature":0.3,"top_p":0.9,"metadata":{"user_id":"u-1"},"stream":true}"#))
    }

    @Test func severalSystemMessagesBecomeTextBlocks() throws {
        let body = try Wire.convert(#"{"messages":[{"role":"system","content":"one"},{"role":"developer","content":[{"type":"text","text":"two"}]},{"role":"user","content":"hi"}]}"#)
        #expect(body["system"] == Wire.json(#"[{"type":"text","text":"one"},{"type":"text","text":"two"}]"#))
    }

    @Test func maxTokensComesFromTheRequestTheChannelOrTheModel() throws {
        #expect(try Wire.convert(#"{"max_completion_tokens":50,"max_tokens":60,"messages":[{"role":"user","content":"x"}]}"#)["max_tokens"]?.int64Value == 50)
        #expect(try Wire.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, model: "claude-sonnet-4-5-20250929")["max_tokens"]?.int64Value == 64000)
        #expect(try Wire.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, model: "claude-opus-4-1-20250805")["max_tokens"]?.int64Value == 32000)
        #expect(try Wire.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, model: "claude-3-5-haiku-latest")["max_tokens"]?.int64Value == 8192)
        #expect(try Wire.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, model: "some-proxy-model")["max_tokens"]?.int64Value == 4096)
        #expect(try Wire.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, maxTokensDefault: 1234)["max_tokens"]?.int64Value == 1234)
        #expect(throws: PluginError.self) { try Wire.convert(#"{"max_tokens":0,"messages":[{"role":"user","content":"x"}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"max_tokens":"5","messages":[{"role":"user","content":"x"}]}"#) }
    }

    @Test func stopSequences() throws {
        #expect(try Wire.convert(#"{"stop":["a","b",""],"messages":[{"role":"user","content":"x"}]}"#)["stop_sequences"] == Wire.json(#"["a","b"]"#))
        #expect(try Wire.convert(#"{"stop":null,"messages":[{"role":"user","content":"x"}]}"#)["stop_sequences"] == nil)
        #expect(try Wire.convert(#"{"stop":[],"messages":[{"role":"user","content":"x"}]}"#)["stop_sequences"] == nil)
        #expect(throws: PluginError.self) { try Wire.convert(#"{"stop":[1],"messages":[{"role":"user","content":"x"}]}"#) }
    }

    @Test func convertsImages() throws {
        let body = try Wire.convert(#"{"messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]}"#)
        #expect(body["messages"] == Wire.json(#"[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]"#))
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,notbase64"}}]}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"x","format":"wav"}}]}]}"#) }
    }

    @Test func convertsPDFsAndKeepsCacheControl() throws {
        let body = try Wire.convert(#"{"messages":[{"role":"system","content":[{"type":"text","text":"long context","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},{"type":"text","text":"summarise","cache_control":{"type":"ephemeral"}}]}]}"#)
        #expect(body["system"] == Wire.json(#"[{"type":"text","text":"long context","cache_control":{"type":"ephemeral"}}]"#))
        #expect(body["messages"]?[0]?["content"] == Wire.json(#"[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},{"type":"text","text":"summarise","cache_control":{"type":"ephemeral"}}]"#))
    }

    @Test func convertsToolsAndToolChoice() throws {
        let tools = #""tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"now"}}]"#
        let body = try Wire.convert(#"{"messages":[{"role":"user","content":"x"}],"tool_choice":"required",\#(tools)}"#)
        #expect(body["tools"] == Wire.json(#"[{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},{"name":"now","input_schema":{"type":"object","properties":{}}}]"#))
        #expect(body["tool_choice"] == Wire.json(#"{"type":"any"}"#))

        func choice(_ value: String, parallel: String = "") throws -> JSONValue? {
            try Wire.convert(#"{"messages":[{"role":"user","content":"x"}],"tool_choice":\#(value)\#(parallel),\#(tools)}"#)["tool_choice"]
        }
        #expect(try choice(#""auto""#) == Wire.json(#"{"type":"auto"}"#))
        #expect(try choice(#""none""#) == Wire.json(#"{"type":"none"}"#))
        #expect(try choice(#"{"type":"function","function":{"name":"now"}}"#) == Wire.json(#"{"type":"tool","name":"now"}"#))
        #expect(try choice(#""auto""#, parallel: #","parallel_tool_calls":false"#) == Wire.json(#"{"type":"auto","disable_parallel_tool_use":true}"#))
        #expect(try choice("null", parallel: #","parallel_tool_calls":false"#) == Wire.json(#"{"type":"auto","disable_parallel_tool_use":true}"#))
        #expect(try choice(#""none""#, parallel: #","parallel_tool_calls":false"#) == Wire.json(#"{"type":"none"}"#))
        #expect(throws: PluginError.self) { try choice(#""sometimes""#) }
        // Without tools, tool_choice has nothing to choose from and is not sent.
        #expect(try Wire.convert(#"{"messages":[{"role":"user","content":"x"}],"tool_choice":"auto"}"#)["tool_choice"] == nil)
        #expect(throws: PluginError.self) {
            try Wire.convert(#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"code_interpreter"}]}"#)
        }
    }

    @Test func convertsAToolConversationMergingResults() throws {
        let body = try Wire.convert(#"""
        {"messages":[
          {"role":"user","content":"weather in Paris and Rome?"},
          {"role":"assistant","content":"","tool_calls":[
            {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
          {"role":"tool","tool_call_id":"toolu_1","content":"18C"},
          {"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"21C"}]},
          {"role":"user","content":"and in F?"},
          {"role":"assistant","content":"64F and 70F"},
          {"role":"assistant","content":"Anything else?"},
          {"role":"user","content":"no"}
        ]}
        """#)
        #expect(body["messages"] == Wire.json(#"""
        [{"role":"user","content":"weather in Paris and Rome?"},
         {"role":"assistant","content":[
           {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
           {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
         {"role":"user","content":[
           {"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
           {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"21C"}]},
           {"type":"text","text":"and in F?"}]},
         {"role":"assistant","content":[{"type":"text","text":"64F and 70F"},{"type":"text","text":"Anything else?"}]},
         {"role":"user","content":"no"}]
        """#))
    }

    @Test func toolResultsLeadTheirUserMessage() throws {
        let body = try Wire.convert(#"{"messages":[{"role":"user","content":"go"},{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":""}}]},{"role":"user","content":"note"},{"role":"tool","tool_call_id":"t1","content":"ok"}]}"#)
        #expect(body["messages"]?[1]?["content"]?[0]?["input"] == .object([]), "empty arguments are an empty object")
        #expect(body["messages"]?[2]?["content"] == Wire.json(#"[{"type":"tool_result","tool_use_id":"t1","content":"ok"},{"type":"text","text":"note"}]"#))
    }

    @Test func refusesBadToolCallsAndRoles() {
        #expect(throws: PluginError.self) {
            try Wire.convert(#"{"messages":[{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{not json"}}]}]}"#)
        }
        #expect(throws: PluginError.self) {
            try Wire.convert(#"{"messages":[{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}"#)
        }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"tool","content":"no id"}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"wizard","content":"x"}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":"hello"}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"system","content":"only a system prompt"}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"n":2,"messages":[{"role":"user","content":"x"}]}"#) }
        #expect(throws: PluginError.self) { try Wire.convert(#"{"messages":[{"role":"user","content":"x"}"#) }
        do {
            _ = try Wire.convert(#"{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{"}}]}]}"#)
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .invalidInput)
            #expect(error.message.contains("messages[1].tool_calls[0].function.arguments"))
        }
    }

    @Test func jsonModeAddsAnInstructionToSystem() throws {
        let plain = try Wire.convert(#"{"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"list 3 colours"}]}"#)
        #expect(plain["system"]?.stringValue == RequestConversion.jsonInstruction)
        let withSystem = try Wire.convert(#"{"response_format":{"type":"json_object"},"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"x"}]}"#)
        #expect(withSystem["system"] == .array([MessageConversion.text("be brief"), MessageConversion.text(RequestConversion.jsonInstruction)]))
        let schema = try Wire.convert(#"{"response_format":{"type":"json_schema","json_schema":{"name":"c","schema":{"type":"object"}}},"messages":[{"role":"user","content":"x"}]}"#)
        #expect(schema["system"]?.stringValue?.hasSuffix(#"{"type":"object"}"#) == true)
        #expect(try Wire.convert(#"{"response_format":{"type":"text"},"messages":[{"role":"user","content":"x"}]}"#)["system"] == nil)
    }

    @Test func reasoningEffortTurnsOnThinking() throws {
        let on = try Wire.convert(#"{"reasoning_effort":"medium","temperature":0.5,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(on["thinking"] == Wire.json(#"{"type":"enabled","budget_tokens":4096}"#))
        #expect(on["temperature"] == nil)
        let capped = try Wire.convert(#"{"reasoning_effort":"high","max_tokens":2000,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(capped["thinking"]?["budget_tokens"]?.int64Value == 1999)
        #expect(try Wire.convert(#"{"reasoning_effort":"low","max_tokens":1000,"messages":[{"role":"user","content":"x"}]}"#)["thinking"] == nil)
        #expect(try Wire.convert(#"{"reasoning_effort":"minimal","messages":[{"role":"user","content":"x"}]}"#)["thinking"] == nil)
        let toolTurn = #"{"reasoning_effort":"high","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t","content":"r"}]}"#
        #expect(try Wire.convert(toolTurn)["thinking"] == nil, "no thinking blocks to replay before the tool call")
        let replayed = try Wire.convert(#"{"reasoning_effort":"high","messages":[{"role":"user","content":"x"},{"role":"assistant","thinking_blocks":[{"type":"thinking","thinking":"hm","signature":"sig"}],"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t","content":"r"}]}"#)
        #expect(replayed["thinking"] != nil)
        #expect(replayed["messages"]?[1]?["content"]?[0] == Wire.json(#"{"type":"thinking","thinking":"hm","signature":"sig"}"#))
        #expect(throws: PluginError.self) { try Wire.convert(#"{"reasoning_effort":"extreme","messages":[{"role":"user","content":"x"}]}"#) }
    }
}
