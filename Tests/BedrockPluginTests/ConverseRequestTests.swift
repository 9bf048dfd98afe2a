import Testing
import TollgatePluginKit
@testable import BedrockPlugin

/// OpenAI chat requests -> Converse bodies, compared as exact JSON text (members are written in
/// a fixed order).
@Suite struct ConverseRequestTests {
    @Test func convertsSystemUserAndInferenceParameters() throws {
        let converse = try PluginFixture.converse(#"""
        {"model":"m","temperature":0.2,"top_p":0.9,"max_tokens":256,"stop":"END","stream":true,
         "stream_options":{"include_usage":true},"seed":1,"response_format":{"type":"text"},
         "messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":[{"type":"text","text":"No emoji."}]},
                     {"role":"user","content":"Hello"}]}
        """#)
        #expect(converse == #"{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"system":[{"text":"Be brief."},{"text":"No emoji."}],"inferenceConfig":{"maxTokens":256,"temperature":0.2,"topP":0.9,"stopSequences":["END"]}}"#)
    }

    @Test func prefersMaxCompletionTokensAndTakesSeveralStopSequences() throws {
        let converse = try PluginFixture.converse(#"{"max_completion_tokens":10,"max_tokens":99,"stop":["a","b"],"messages":[{"role":"user","content":"x"}]}"#)
        #expect(converse == #"{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":10,"stopSequences":["a","b"]}}"#)
        let none = try PluginFixture.converse(#"{"stop":null,"temperature":null,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(none == #"{"messages":[{"role":"user","content":[{"text":"x"}]}]}"#)
    }

    @Test func convertsImagesToByteBlocks() throws {
        let png = "iVBORw0KGgo="
        let converse = try PluginFixture.converse(#"""
        {"messages":[{"role":"user","content":[
          {"type":"text","text":"What is this?"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,\#(png)","detail":"high"}},
          {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
          {"type":"image_url","image_url":{"url":"data:image/gif;base64,R0lGODlh"}},
          {"type":"image_url","image_url":"data:image/webp;base64,UklGRg=="}]}]}
        """#)
        #expect(converse == #"{"messages":[{"role":"user","content":[{"text":"What is this?"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},{"image":{"format":"jpeg","source":{"bytes":"/9j/4AAQ"}}},{"image":{"format":"gif","source":{"bytes":"R0lGODlh"}}},{"image":{"format":"webp","source":{"bytes":"UklGRg=="}}}]}]}"#)
    }

    @Test func refusesImagesConverseCannotTake() {
        let cases: [(String, PluginError.Kind, String)] = [
            ("https://example.com/cat.png", .unsupported, "not URLs"),
            ("data:image/bmp;base64,Qk0=", .unsupported, "image/bmp"),
            ("data:image/png,rawbytes", .invalidInput, "base64 data: URL"),
            ("data:image/png;base64,@@@", .invalidInput, "invalid base64"),
            ("data:image/png;base64", .invalidInput, "no comma"),
        ]
        for (url, kind, fragment) in cases {
            let body = #"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"\#(url)"}}]}]}"#
            let error = PluginFixture.failure { _ = try ConverseRequest.convert(Array(body.utf8)) }
            #expect(error?.kind == kind, "\(url)")
            #expect(error?.message.contains(fragment) == true, "\(url): \(error?.message ?? "no error")")
            #expect(error?.message.contains("messages[0].content[0].image_url.url") == true)
        }
    }

    @Test func convertsToolsChoicesCallsAndMergedResults() throws {
        let converse = try PluginFixture.converse(#"""
        {"messages":[
          {"role":"user","content":"Weather in Paris and Rome?"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"tooluse_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
          {"role":"tool","tool_call_id":"tooluse_1","content":"18C"},
          {"role":"tool","tool_call_id":"tooluse_2","content":[{"type":"text","text":"22"},{"type":"text","text":"C"}]},
          {"role":"user","content":"Thanks. Which is warmer?"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather",
                   "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
                  {"type":"function","function":{"name":"now"}}],
         "tool_choice":"required"}
        """#)
        #expect(converse == #"{"messages":[{"role":"user","content":[{"text":"Weather in Paris and Rome?"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}},{"toolUse":{"toolUseId":"tooluse_2","name":"get_weather","input":{"city":"Rome"}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_1","content":[{"text":"18C"}]}},{"toolResult":{"toolUseId":"tooluse_2","content":[{"text":"22C"}]}},{"text":"Thanks. Which is warmer?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Current weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}},{"toolSpec":{"name":"now","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}"#)
    }

    @Test func mapsEveryToolChoice() throws {
        let tools = #""tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]"#
        func config(_ choice: String, history: Bool = false) throws -> JSONValue? {
            let messages = history
                ? #"[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":""}}]},{"role":"tool","tool_call_id":"t1","content":"ok"}]"#
                : #"[{"role":"user","content":"a"}]"#
            let body = #"{"messages":\#(messages),\#(tools)\#(choice.isEmpty ? "" : ",\"tool_choice\":" + choice)}"#
            return try ConverseRequest.convert(Array(body.utf8))["toolConfig"]
        }
        let spec = #"{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object"}}}}"#
        #expect(try config("")?.jsonString == #"{"tools":[\#(spec)]}"#)
        #expect(try config(#""auto""#)?.jsonString == #"{"tools":[\#(spec)],"toolChoice":{"auto":{}}}"#)
        #expect(try config(#""required""#)?.jsonString == #"{"tools":[\#(spec)],"toolChoice":{"any":{}}}"#)
        #expect(try config(#"{"type":"function","function":{"name":"f"}}"#)?.jsonString == #"{"tools":[\#(spec)],"toolChoice":{"tool":{"name":"f"}}}"#)
        // none: no tools at all, unless the conversation holds tool blocks (Converse then needs the list).
        #expect(try config(#""none""#) == nil)
        #expect(try config(#""none""#, history: true)?.jsonString == #"{"tools":[\#(spec)]}"#)
    }

    @Test func emptyArgumentsBecomeAnEmptyInputAndAnObjectIsTakenAsIs() throws {
        let body = #"{"messages":[{"role":"assistant","content":"","tool_calls":[{"id":"a","function":{"name":"f","arguments":" "}},{"id":"b","function":{"name":"g","arguments":{"x":1}}}]}]}"#
        #expect(try PluginFixture.converse(body) == #"{"messages":[{"role":"assistant","content":[{"toolUse":{"toolUseId":"a","name":"f","input":{}}},{"toolUse":{"toolUseId":"b","name":"g","input":{"x":1}}}]}]}"#)
    }

    @Test func mergesConsecutiveRolesAndDropsEmptyText() throws {
        let converse = try PluginFixture.converse(#"""
        {"messages":[{"role":"user","content":"one"},{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"two"}]},
                     {"role":"assistant","content":""},{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]},
                     {"role":"user","content":""},{"role":"user","content":"three"}]}
        """#)
        #expect(converse == #"{"messages":[{"role":"user","content":[{"text":"one"},{"text":"two"}]},{"role":"assistant","content":[{"text":"no"}]},{"role":"user","content":[{"text":"three"}]}]}"#)
    }

    @Test func refusesMalformedRequestsNamingTheField() {
        let cases: [(String, PluginError.Kind, String)] = [
            ("not json", .invalidInput, "not JSON"),
            ("[1]", .invalidInput, "JSON object"),
            (#"{"messages":{}}"#, .invalidInput, "messages must be an array"),
            (#"{"messages":[1]}"#, .invalidInput, "messages[0] must be an object"),
            (#"{"messages":[{"content":"x"}]}"#, .invalidInput, "messages[0].role"),
            (#"{"messages":[{"role":"function","content":"x"}]}"#, .invalidInput, "messages[0].role \"function\""),
            (#"{"messages":[{"role":"user","content":5}]}"#, .invalidInput, "messages[0].content"),
            (#"{"messages":[{"role":"user","content":[{"type":"input_audio"}]}]}"#, .unsupported, "input_audio"),
            (#"{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}"#, .invalidInput, "messages[0].content[0] must be a text part"),
            (#"{"messages":[{"role":"tool","content":"x"}]}"#, .invalidInput, "messages[0].tool_call_id"),
            (#"{"messages":[{"role":"tool","tool_call_id":"t","content":[{"type":"image_url"}]}]}"#, .invalidInput, "messages[0].content[0] must be a text part"),
            (#"{"messages":[{"role":"assistant","tool_calls":[{"id":"t","function":{"name":"f","arguments":"{oops"}}]}]}"#, .invalidInput, "messages[0].tool_calls[0].function.arguments is not valid JSON"),
            (#"{"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f"}}]}]}"#, .invalidInput, "messages[0].tool_calls[0].id"),
            (#"{"messages":[{"role":"assistant","tool_calls":[{"id":"t","function":{}}]}]}"#, .invalidInput, "messages[0].tool_calls[0].function.name"),
            (#"{"messages":[{"role":"assistant","tool_calls":{}}]}"#, .invalidInput, "messages[0].tool_calls must be an array"),
            (#"{"messages":[],"n":2}"#, .unsupported, "n > 1"),
            (#"{"messages":[],"max_tokens":0}"#, .invalidInput, "max_tokens must be a positive integer"),
            (#"{"messages":[],"temperature":"hot"}"#, .invalidInput, "temperature must be a number"),
            (#"{"messages":[],"stop":[1]}"#, .invalidInput, "stop must be"),
            (#"{"messages":[],"tools":{}}"#, .invalidInput, "tools must be an array"),
            (#"{"messages":[],"tools":[{"type":"retrieval"}]}"#, .unsupported, "tools[0].type"),
            (#"{"messages":[],"tools":[{"type":"function","function":{"name":""}}]}"#, .invalidInput, "tools[0].function.name"),
            (#"{"messages":[],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}"#, .invalidInput, "tools[0].function.parameters"),
            (#"{"messages":[],"tool_choice":"auto"}"#, .invalidInput, "tool_choice needs tools"),
            (#"{"messages":[],"tools":[{"function":{"name":"f"}}],"tool_choice":"sometimes"}"#, .invalidInput, "tool_choice must be"),
            (#"{"messages":[],"tools":[{"function":{"name":"f"}}],"tool_choice":{"type":"function"}}"#, .invalidInput, "tool_choice.function.name"),
        ]
        for (body, kind, fragment) in cases {
            let error = PluginFixture.failure { _ = try ConverseRequest.convert(Array(body.utf8)) }
            #expect(error?.kind == kind, "\(body)")
            #expect(error?.message.contains(fragment) == true, "\(body): \(error?.message ?? "no error")")
        }
    }
}
