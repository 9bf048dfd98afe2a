import Testing
import TollgatePluginKit
@testable import GeminiWire

@Suite struct RequestConversionTests {
    @Test func systemRolesAndGenerationConfig() throws {
        let out = try geminiRequest("""
        {"model":"gemini-2.0-flash","temperature":0.3,"top_p":0.9,"max_tokens":64,"stop":"END","n":2,"seed":7,
         "messages":[{"role":"system","content":"be brief"},{"role":"developer","content":[{"type":"text","text":"no emoji"}]},
                     {"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"again"}]}
        """)
        #expect(out["model"] == nil)
        #expect(out["systemInstruction"] == json(#"{"parts":[{"text":"be brief"},{"text":"no emoji"}]}"#))
        #expect(out["contents"] == json("""
        [{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"hello"}]},{"role":"user","parts":[{"text":"again"}]}]
        """))
        #expect(out["generationConfig"] == json(#"{"temperature":0.3,"topP":0.9,"seed":7,"maxOutputTokens":64,"candidateCount":2,"stopSequences":["END"]}"#))
    }

    @Test func maxCompletionTokensWinsAndStopArrays() throws {
        let out = try geminiRequest(#"{"max_tokens":10,"max_completion_tokens":20,"stop":["a","b"],"messages":[{"role":"user","content":"x"}]}"#)
        #expect(out["generationConfig"]?["maxOutputTokens"]?.int64Value == 20)
        #expect(out["generationConfig"]?["stopSequences"] == json(#"["a","b"]"#))
        #expect(out["systemInstruction"] == nil)
    }

    @Test func multiPartImages() throws {
        let out = try geminiRequest("""
        {"messages":[{"role":"user","content":[
          {"type":"text","text":"compare"},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
          {"type":"image_url","image_url":{"url":"https://example.com/a/cat.webp?size=large","detail":"high"}},
          {"type":"image_url","image_url":{"url":"https://example.com/photo"}},
          {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]}
        """)
        #expect(out["contents"]?[0]?["parts"] == json("""
        [{"text":"compare"},
         {"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},
         {"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/a/cat.webp?size=large"}},
         {"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/photo"}},
         {"inlineData":{"mimeType":"audio/wav","data":"UklGRg=="}}]
        """))
    }

    @Test func toolCallsAndTheirResultsMergedIntoOneUserTurn() throws {
        let out = try geminiRequest("""
        {"messages":[
          {"role":"user","content":"weather in Paris and Rome?"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
            {"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]},
          {"role":"tool","tool_call_id":"call_a","content":"{\\"temp\\":21}"},
          {"role":"tool","tool_call_id":"call_b","content":"noon"},
          {"role":"user","content":"thanks"}]}
        """)
        #expect(out["contents"] == json("""
        [{"role":"user","parts":[{"text":"weather in Paris and Rome?"}]},
         {"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},
                                  {"functionCall":{"name":"get_time","args":{}}}]},
         {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"content":{"temp":21}}}},
                                 {"functionResponse":{"name":"get_time","response":{"content":"noon"}}},
                                 {"text":"thanks"}]}]
        """))
    }

    @Test func thoughtSignaturesGoBackWithTheirCalls() throws {
        let out = try geminiRequest("""
        {"messages":[{"role":"user","content":"x"},
          {"role":"assistant","tool_calls":[{"id":"call_0","type":"function","function":{"name":"f","arguments":"{}"},
                                            "extra_content":{"google":{"thought_signature":"c2ln"}}}]},
          {"role":"tool","tool_call_id":"call_0","content":[{"type":"text","text":"done"}]}]}
        """)
        #expect(out["contents"]?[1]?["parts"]?[0] == json(#"{"functionCall":{"name":"f","args":{}},"thoughtSignature":"c2ln"}"#))
        #expect(out["contents"]?[2]?["parts"]?[0]?["functionResponse"]?["response"] == json(#"{"content":"done"}"#))
    }

    @Test func consecutiveTurnsOfOneRoleAreMergedAndEmptyOnesDropped() throws {
        let out = try geminiRequest(#"{"messages":[{"role":"user","content":"a"},{"role":"user","content":""},{"role":"user","content":"b"},{"role":"assistant","content":""}]}"#)
        #expect(out["contents"] == json(#"[{"role":"user","parts":[{"text":"a"},{"text":"b"}]}]"#))
    }

    @Test func jsonModes() throws {
        let object = try geminiRequest(#"{"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"x"}]}"#)
        #expect(object["generationConfig"] == json(#"{"responseMimeType":"application/json"}"#))

        let schema = try geminiRequest("""
        {"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":
          {"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
           "properties":{"name":{"type":"string"},"age":{"type":["integer","null"]}},"required":["name","age"]}}},
         "messages":[{"role":"user","content":"x"}]}
        """)
        #expect(schema["generationConfig"] == json("""
        {"responseMimeType":"application/json","responseSchema":{"type":"object",
          "properties":{"name":{"type":"string"},"age":{"type":"integer","nullable":true}},"required":["name","age"]}}
        """))

        let text = try geminiRequest(#"{"response_format":{"type":"text"},"messages":[{"role":"user","content":"x"}]}"#)
        #expect(text["generationConfig"] == nil)
    }

    @Test func toolsAndToolChoice() throws {
        let out = try geminiRequest("""
        {"messages":[{"role":"user","content":"x"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now","strict":true,
                    "parameters":{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string","format":"uri"}},"required":["city","ghost"]}}},
                  {"type":"function","function":{"name":"ping","parameters":{"type":"object","properties":{}}}}],
         "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
        """)
        #expect(out["tools"] == json("""
        [{"functionDeclarations":[
          {"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
          {"name":"ping"}]}]
        """))
        #expect(out["toolConfig"] == json(#"{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}"#))

        for (choice, mode) in [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")] {
            let converted = try geminiRequest(#"{"messages":[{"role":"user","content":"x"}],"tool_choice":"\#(choice)"}"#)
            #expect(converted["toolConfig"] == json(#"{"functionCallingConfig":{"mode":"\#(mode)"}}"#))
        }
    }

    @Test func malformedRequestsAreRefused() {
        func kind(_ text: String) -> PluginError.Kind? {
            do { _ = try geminiRequest(text); return nil } catch { return error.kind }
        }
        #expect(kind(#"{"messages":"nope"}"#) == .invalidInput)
        #expect(kind(#"[1]"#) == .invalidInput)
        #expect(kind(#"{"messages":[{"content":"x"}]}"#) == .invalidInput)
        #expect(kind(#"{"messages":[{"role":"wizard","content":"x"}]}"#) == .invalidInput)
        #expect(kind(#"{"messages":[{"role":"user","content":[{"type":"hologram"}]}]}"#) == .unsupported)
        #expect(kind(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,raw"}}]}]}"#) == .invalidInput)
        #expect(kind(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}"#) == .invalidInput)
        #expect(kind(#"{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{not json"}}]}]}"#) == .invalidInput)
        #expect(kind(#"{"messages":[{"role":"tool","tool_call_id":"nobody","content":"x"}]}"#) == .invalidInput)
        #expect(kind(#"{"temperature":"hot","messages":[]}"#) == .invalidInput)
        #expect(kind(#"{"stop":[1],"messages":[]}"#) == .invalidInput)
        #expect(kind(#"{"response_format":{"type":"yaml"},"messages":[]}"#) == .invalidInput)
        #expect(kind(#"{"tools":[{"type":"web_search"}],"messages":[]}"#) == .unsupported)
        #expect(kind(#"{"tool_choice":42,"messages":[]}"#) == .invalidInput)
        do { _ = try GenerateContentRequest.fromOpenAI(bytes("{")); Issue.record("accepted broken JSON") } catch { #expect(error.kind == .invalidInput) }
    }
}

@Suite struct SchemaTests {
    @Test func rewritesWhatGeminiLacks() {
        let converted = GeminiSchema.convert(json("""
        {"$schema":"x","type":"object","$defs":{"Pet":{"type":"object","properties":{"kind":{"const":"cat"}},"additionalProperties":false}},
         "properties":{
           "pet":{"$ref":"#/$defs/Pet","description":"the pet"},
           "either":{"oneOf":[{"type":"string"},{"type":"integer"}]},
           "maybe":{"anyOf":[{"type":"string","format":"email"},{"type":"null"}]},
           "level":{"type":"integer","enum":[1,2,3],"format":"int32","exclusiveMinimum":0},
           "tags":{"type":"array","items":{"type":"string","enum":["a","b",null]},"uniqueItems":true},
           "both":{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"b":{"type":"number"}},"required":["b"]}]}
         }}
        """))
        #expect(converted == json("""
        {"type":"object","properties":{
          "pet":{"type":"object","properties":{"kind":{"enum":["cat"]}},"description":"the pet"},
          "either":{"anyOf":[{"type":"string"},{"type":"integer"}]},
          "maybe":{"type":"string","nullable":true},
          "level":{"type":"integer","format":"int32"},
          "tags":{"type":"array","items":{"type":"string","enum":["a","b"],"nullable":true}},
          "both":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"number"}},"required":["a","b"]}
        }}
        """))
    }

    @Test func recursiveReferencesStopAtABoundedDepth() {
        let converted = GeminiSchema.convert(json(##"{"$defs":{"Node":{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}}}},"$ref":"#/$defs/Node"}"##))
        var depth = 0
        var node: JSONValue? = converted
        while let next = node?["properties"]?["next"] { depth += 1; node = next }
        #expect(depth == GeminiSchema.maxRefDepth)
        #expect(node == json(#"{"type":"object"}"#))
    }
}
