import Testing
import TestSupport
@testable import TollgatePluginKit
@testable import AnthropicWire

/// A complete Anthropic answer is converted from its bytes without a tree of the whole answer
/// (`AnswerContent`); it must give exactly what the tree conversion gave (kept here as the
/// reference), byte for byte, usage and errors too, for every answer, honest or not.
@Suite struct AnswerContentTests {
    /// The conversion as it was: the whole answer parsed into a tree, then written.
    static func byTree(_ body: [UInt8], created: Int64 = 0, model: String = "my-claude") -> Result<PluginConvertedResponse, PluginError> {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch {
            return .failure(PluginError(.upstream, "Anthropic answered HTTP 200 with a body that is not JSON: \(error)"))
        }
        guard case .object = json, let content = json["content"]?.arrayValue else {
            return .failure(PluginError(.upstream, "Anthropic's answer has no content array"))
        }
        var usage = AnthropicUsage()
        usage.read(json["usage"])
        var text = "", reasoning = ""
        var hasToolCalls = false, hasThinking = false
        for block in content {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use": hasToolCalls = true
            case "thinking": reasoning += block["thinking"]?.stringValue ?? ""; hasThinking = true
            case "redacted_thinking": hasThinking = true
            default: break
            }
        }
        var out = JSONWriter()
        out.beginObject()
        out.key("id"); out.value(json["id"] ?? .string("msg"))
        out.key("object"); out.string("chat.completion")
        out.key("created"); out.int(created)
        out.key("model"); out.string(model)
        out.key("choices"); out.beginArray(); out.beginObject()
        out.key("index"); out.int(0)
        out.key("message"); out.beginObject()
        out.key("role"); out.string("assistant")
        out.key("content"); if text.isEmpty && hasToolCalls { out.null() } else { out.string(text) }
        if hasToolCalls {  // tool calls are written from their blocks' trees by both
            ResponseConversion.writeToolCalls(content.filter { $0["type"]?.stringValue == "tool_use" }, into: &out)
        }
        if !reasoning.isEmpty { out.key("reasoning_content"); out.string(reasoning) }
        if hasThinking {
            out.key("thinking_blocks"); out.beginArray()
            for block in content where ["thinking", "redacted_thinking"].contains(block["type"]?.stringValue) { out.value(block) }
            out.endArray()
        }
        out.endObject()
        out.key("finish_reason"); out.string(ResponseConversion.finishReason(json["stop_reason"]?.stringValue))
        out.endObject(); out.endArray()
        out.key("usage"); usage.tokenUsage.writeOpenAI(AnthropicUsage.openAIStyle, into: &out)
        out.endObject()
        return .success(PluginConvertedResponse(status: 200, body: out.bytes, usage: usage.tokenUsage))
    }

    static func byReader(_ body: [UInt8]) -> Result<PluginConvertedResponse, PluginError> {
        var response = Wire.response("")
        response.body = body  // as received: a String would repair invalid UTF-8
        return Result { () throws(PluginError) in try Wire.convertResponse(response) }
    }

    /// Both give the same answer, or both refuse with the same message.
    static func expectAlike(_ body: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let shown = String(decoding: body, as: UTF8.self)
        switch (byReader(body), byTree(body)) {
        case (.success(let reader), .success(let tree)):
            #expect(reader.body.text == tree.body.text, "\(shown)", sourceLocation: sourceLocation)
            #expect(reader.usage == tree.usage, "\(shown)", sourceLocation: sourceLocation)
        case (.failure(let reader), .failure(let tree)):
            #expect(reader.message == tree.message, "\(shown)", sourceLocation: sourceLocation)
        case (let reader, let tree):
            Issue.record("reader \(reader), tree \(tree): \(shown)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [
        // Honest answers: text, tools, thinking, cache usage.
        #"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":3,"cache_creation":{"ephemeral_1h_input_tokens":2}}}"#,
        #"{"id":"m","content":[{"type":"thinking","thinking":"a\"b","signature":"s"},{"type":"redacted_thinking","data":"x"},{"type":"tool_use","id":"t1","name":"f","input":{"a":[1,"\n"]}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}"#,
        // Text with escapes, surrogate pairs, a lone surrogate, non-ASCII bytes, control escapes.
        #"{"content":[{"type":"text","text":"tab\there \u00e9 \ud83d\ude00 \ud800 é \/ \\ \u0000"}]}"#,
        // The first of a repeated name counts; later ones are ignored, whatever they hold.
        #"{"content":[{"type":"text","text":"first"}],"content":[{"type":"text","text":"second"}],"id":"a","id":"b"}"#,
        #"{"content":{"type":"text"},"content":[{"type":"text","text":"later"}]}"#,
        #"{"content":[{"type":"text","type":"tool_use","text":"a","text":"b"}],"stop_reason":"max_tokens","stop_reason":"tool_use"}"#,
        #"{"usage":{"input_tokens":5},"usage":{"input_tokens":50},"content":[]}"#,
        // Names with escapes are the same names, at the top and in blocks; types with escapes too.
        #"{"c\u006fntent":[{"t\u0079pe":"t\u0065xt","te\u0078t":"esc"}],"\u0069d":7,"stop\u005freason":"refusal"}"#,
        // Members of the wrong kind: no text, no type, a non-object block, a numeric id, null fields.
        #"{"id":null,"content":[1,"x",null,[],{},{"type":7,"text":"no"},{"type":"text","text":9},{"type":"text"}],"stop_reason":5,"usage":[]}"#,
        #"{"id":{"a":[1,2]},"content":[{"type":"tool_use"},{"type":"thinking","thinking":null},{"type":"server_tool_use","id":"s","input":{}}]}"#,
        #"{"content":[{"type":"tool_use","id":"t","name":"n","input":"not an object"}],"usage":{"input_tokens":-1,"output_tokens":1.5}}"#,
        // Whitespace everywhere; the tool input re-serialized compactly.
        " { \"content\" : [ { \"type\" : \"tool_use\" , \"input\" : { \"k\" : [ 1 , 2.50 , true ] } } ] } ",
        // No content array, not an object, not JSON.
        #"{"id":"m"}"#, #"{"content":null}"#, #"[]"#, #""x""#, #"3"#, "", " ",
        #"{"content":[}"#, #"{"content":[{"type":"text","text":"a"}]"#, #"{"content":[]} x"#, #"{"content":[{"type":"text","text":"\x"}]}"#,
        #"{"content":[{"type":"text","text":"a"},]}"#, #"{"content":[],}"#, #"{"content" [] }"#, #"{"a":1 "content":[]}"#,
    ])
    func convertsWhatTheTreeConverts(body: String) {
        Self.expectAlike(Array(body.utf8))
    }

    @Test func invalidUTF8AndDepthAreRefusedByBoth() {
        Self.expectAlike(Array(#"{"content":[{"type":"text","text":""#.utf8) + [0xC3, 0x28] + Array(#""}]}"#.utf8))
        Self.expectAlike(Array(#"{"content":[{"type":"text","text":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}]}"#.utf8))
        let deep = #"{"content":[{"type":"tool_use","input":"# + String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth) + "}]}"
        Self.expectAlike(Array(deep.utf8))
        let deepest = #"{"content":[{"type":"tool_use","input":"# + String(repeating: "[", count: JSONParser.maxDepth - 3) + String(repeating: "]", count: JSONParser.maxDepth - 3) + "}]}"
        Self.expectAlike(Array(deepest.utf8))
        if case .success = Self.byReader(Array(deepest.utf8)) {} else { Issue.record("an answer at the depth limit converts") }
    }

    /// Thousands of generated answers (a fixed seed: the same every run), each also cut short
    /// and with a byte flipped.
    @Test func generatedAnswersConvertAlike() {
        var random = SplitMix(seed: 0xA17_4C0D)
        var checked = 0, converted = 0
        for _ in 0..<3000 {
            let body = Array(Self.answer(&random).utf8)
            var flipped = body
            flipped[Int.random(in: 0..<flipped.count, using: &random)] = Self.noise.randomElement(using: &random)!
            for variant in [body, Array(body.prefix(Int.random(in: 0...body.count, using: &random))), flipped] {
                Self.expectAlike(variant)
                if case .success = Self.byReader(variant) { converted += 1 }
                checked += 1
            }
        }
        #expect(checked == 9000)
        #expect(converted > 2000)  // many convert: the comparison is not all refusals
    }

    static let noise: [UInt8] = Array(#"{}[],:"0-9e.\ ntu"#.utf8)
    static let topNames = ["id", "content", "content", "usage", "stop_reason", "type", "model", #"c\u006Fntent"#, "contents"]
    static let blockNames = ["type", "type", "text", "text", "thinking", "id", "name", "input", "signature", #"t\u0065xt"#, "data"]
    static let types = ["text", "text", "tool_use", "thinking", "redacted_thinking", "server_tool_use", #"t\u0065xt"#, "tool_use "]
    static let texts = ["hi", "", #"a\"b"#, #"\n\t\u00e9"#, "é ü 😀", #"\ud83d\ude00"#, #"\udc00"#, "x y z"]

    static func answer(_ random: inout SplitMix) -> String {
        var members: [String] = []
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            let name = topNames.randomElement(using: &random)!
            let value: String
            switch name {
            case "content", #"c\u006Fntent"#: value = Int.random(in: 0..<8, using: &random) == 0 ? scalar(&random) : content(&random)
            case "usage": value = usage(&random)
            case "stop_reason": value = "\"" + ["end_turn", "max_tokens", "tool_use", "refusal", "pause_turn"].randomElement(using: &random)! + "\""
            default: value = scalar(&random)
            }
            members.append("\"\(name)\":\(value)")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    static let usageNames = ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation",
                             "input_tokens", #"output_t\u006Fkens"#, "service_tier"]
    static let counts = ["0", "7", "900", "-1", "1.5", "1e3", "null", #""5""#, "9223372036854775807", "99999999999999999999"]

    /// A `usage` object (members repeated, counts of every kind, `cache_creation` whole or not)
    /// or, now and then, something else.
    static func usage(_ random: inout SplitMix) -> String {
        guard Int.random(in: 0..<12, using: &random) > 0 else { return scalar(&random) }
        return "{" + (0..<Int.random(in: 0...6, using: &random)).map { _ in
            let name = usageNames.randomElement(using: &random)!
            let value: String
            if name == "cache_creation", Int.random(in: 0..<5, using: &random) > 0 {
                value = "{" + (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    let inner = ["ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens", #"ephemeral_1h_input_t\u006Fkens"#].randomElement(using: &random)!
                    return "\"\(inner)\":\(counts.randomElement(using: &random)!)"
                }.joined(separator: ",") + "}"
            } else {
                value = counts.randomElement(using: &random)!
            }
            return "\"\(name)\":\(value)"
        }.joined(separator: ",") + "}"
    }

    static func content(_ random: inout SplitMix) -> String {
        "[" + (0..<Int.random(in: 0...4, using: &random)).map { _ in
            guard Int.random(in: 0..<10, using: &random) > 0 else { return scalar(&random) }
            return "{" + (0..<Int.random(in: 0...4, using: &random)).map { _ in
                let name = blockNames.randomElement(using: &random)!
                let value: String
                switch name {
                case "type": value = Int.random(in: 0..<10, using: &random) == 0 ? scalar(&random) : "\"" + types.randomElement(using: &random)! + "\""
                case "text", "thinking", #"t\u0065xt"#: value = "\"" + texts.randomElement(using: &random)! + "\""
                case "input": value = #"{"q": [1, 2.0, "\u0041", {"n":null}] , "b":true}"#
                default: value = scalar(&random)
                }
                return "\"\(name)\":\(value)"
            }.joined(separator: ",") + "}"
        }.joined(separator: ",") + "]"
    }

    static func scalar(_ random: inout SplitMix) -> String {
        ["\"s\"", "7", "-1.5e3", "null", "true", "[]", "{}", #"{"a":[1,{"b":"c"}]}"#, "\"" + texts.randomElement(using: &random)! + "\""]
            .randomElement(using: &random)!
    }
}
