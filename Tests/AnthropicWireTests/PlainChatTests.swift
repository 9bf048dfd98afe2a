import Testing
import TestSupport
@testable import TollgatePluginKit
@testable import AnthropicWire

/// A plain chat is converted in one pass over its bytes (`PlainChat`); everything else goes
/// through the tree (`RequestConversion`). Whenever the pass converts a body, its bytes must be
/// the tree's, and a body the tree refuses must never be converted by the pass.
@Suite struct PlainChatTests {
    /// The pass's body, or nil when it hands the body on.
    static func plain(_ body: String, model: String = "claude-sonnet-4-5", options: AnthropicWire.RequestOptions = .init()) -> [UInt8]? {
        let conversion = RequestConversion(maxTokensDefault: options.maxTokensDefault, platformVersion: options.platformVersion)
        return Array(body.utf8).withUnsafeBytes { PlainChat.anthropicBody($0, model: model, conversion: conversion, stream: options.stream) }
    }

    /// The tree's body, or its error.
    static func tree(_ body: String, model: String = "claude-sonnet-4-5", options: AnthropicWire.RequestOptions = .init()) -> Result<[UInt8], PluginError> {
        let conversion = RequestConversion(maxTokensDefault: options.maxTokensDefault, platformVersion: options.platformVersion)
        do {
            let json = try JSONParser.parse(Array(body.utf8))
            do throws(PluginError) {
                return .success(try conversion.anthropicBody(from: json, model: model, stream: options.stream).serialized())
            } catch {
                return .failure(error)
            }
        } catch {
            return .failure(PluginError(.invalidInput, "not JSON"))
        }
    }

    /// True when the pass took the body (and wrote the tree's bytes), false when it handed it on.
    @discardableResult
    static func agrees(_ body: String, model: String = "claude-sonnet-4-5", options: AnthropicWire.RequestOptions = .init(),
                       sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let plain = plain(body, model: model, options: options) else { return false }
        switch tree(body, model: model, options: options) {
        case .success(let tree):
            #expect(plain.text == tree.text, "\(body)", sourceLocation: sourceLocation)
        case .failure(let error):
            Issue.record("the pass converted a body the tree refuses (\(error.message)): \(body)", sourceLocation: sourceLocation)
        }
        return true
    }

    @Test func plainChatsAreWrittenAsTheTreeWritesThem() {
        let taken = [
            #"{"model":"m","messages":[{"role":"user","content":"Say hello."}]}"#,
            #"{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"temperature":0.30,"top_p":1e-1,"top_k":5,"max_tokens":100,"user":"u-1","seed":7,"stream_options":{"include_usage":true}}"#,
            #"{"messages":[{"role":"system","content":"one"},{"role":"developer","content":"two"},{"role":"user","content":"a"},{"role":"system","content":"three"},{"role":"user","content":"b"},{"role":"assistant","content":null},{"role":"assistant","content":""},{"role":"assistant","content":"c"},{"role":"user","content":"d","name":"bob"}]}"#,
            #"{"messages":[{"content":"x\n\"y\"\\ \u00e9 \ud83d\ude00 \/ \u0001","role":"user"}],"max_completion_tokens":7,"max_tokens":null}"#,
            #" { "messages" : [ { "role" : "user" , "content" : "é😀 tab\there" } ] , "temperature" : "hot", "top_p": null, "user": "", "metadata": {"a": [1, 2, {"b": null}]} } "#,
            #"{"m\u0061x_tokens":9,"messages":[{"role":"user","cont\u0065nt":"escaped names"}]}"#,
            #"{"messages":[{"role":"user","content":"lone \ud800 surrogate"}],"user":"\u0075ser"}"#,
        ]
        for body in taken {
            #expect(Self.agrees(body), "\(body)")
            #expect(Self.agrees(body, model: "claude-opus-4-1-20250805", options: .init(stream: true, maxTokensDefault: 321)), "\(body)")
            #expect(Self.agrees(body, options: .init(platformVersion: AnthropicWire.vertexVersion)), "\(body)")
        }
    }

    /// Shapes only the tree converts (or refuses): the pass hands them on, and the public entry
    /// still answers as the tree does.
    @Test func anythingElseIsLeftToTheTree() throws {
        let handedOn = [
            #"{"messages":[{"role":"user","content":[{"type":"text","text":"parts"}]}]}"#,
            #"{"messages":[{"role":"tool","tool_call_id":"t","content":"r"}]}"#,
            #"{"messages":[{"role":"assistant","content":"","tool_calls":[]},{"role":"user","content":"x"}]}"#,
            #"{"messages":[{"role":"assistant","thinking_blocks":[],"content":"a"},{"role":"user","content":"x"}]}"#,
            #"{"messages":[{"role":"user","content":"x"}],"tools":[]}"#,
            #"{"messages":[{"role":"user","content":"x"}],"stop":"END"}"#,
            #"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#,
            #"{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"}"#,
            #"{"messages":[{"role":"user","content":"x"}],"n":1}"#,
            #"{"messages":[{"role":"user","content":"x"}],"messages":[{"role":"user","content":"y"}]}"#,
            #"{"messages":[{"role":"user","role":"assistant","content":"x"}]}"#,
            #"{"messages":[{"role":"us\u0065r","content":"x"}]}"#,
            #"{"messages":[{"role":"user","content":"x"}],"m\u00e4x":1}"#,
            // What the tree refuses.
            #"{"messages":[]}"#, #"{"messages":[{"role":"system","content":"only"}]}"#, #"{"messages":"hi"}"#, #"{}"#, #"[]"#,
            #"{"messages":[{"content":"x"}]}"#, #"{"messages":[{"role":"user","content":1}]}"#, #"{"messages":[1]}"#,
            #"{"messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, #"{"messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#,
            #"{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":"5"}"#, #"{"messages":[{"role":"function","content":"x"}]}"#,
            #"{"messages":[{"role":"user","content":"x"}]} trailing"#, #"{"messages":[{"role":"user","content":"x"}],}"#,
            #"{"messages":[{"role":"user","content":"bad \x escape"}]}"#, "{\"messages\":[{\"role\":\"user\",\"content\":\"raw \u{1} control\"}]}",
        ]
        for body in handedOn {
            #expect(Self.plain(body) == nil, "\(body)")
            let viaEntry = Result { () throws(PluginError) in try AnthropicWire.requestBody(fromOpenAI: Array(body.utf8), model: "claude-sonnet-4-5") }
            switch (viaEntry, Self.tree(body)) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(body)")
            case (.failure(let a), .failure(let b)): #expect(a.status == b.status, "\(body)")
            default: Issue.record("the entry and the tree disagree on \(body)")
            }
        }
    }

    /// Thousands of chats drawn from the shapes above (roles, contents with escapes and non-ASCII
    /// text, numbers, members the tree drops or refuses, repeats), seeded: every one the pass
    /// converts is the tree's to the byte, and the pass takes a good share of them.
    @Test func generatedChatsAgreeWithTheTree() {
        var random = SplitMix(seed: 14)
        func pick(_ n: Int) -> Int { Int.random(in: 0..<n, using: &random) }
        // Plain choices several times over, so that a good share of the bodies stays plain.
        let roles = Array(repeating: [#""user""#, #""assistant""#, #""system""#, #""developer""#], count: 6).flatMap { $0 }
            + [#""tool""#, #""us\u0065r""#, "1", #""""#]
        let contents = Array(repeating: [#""hi""#, #""""#, "null", #""line\nbreak \"quoted\" \\ back""#, #""é😀 \u00e9\ud83d\ude00""#,
                                         #""\ud800 lone""#, #""/ \/ tab\t""#], count: 4).flatMap { $0 }
            + [#"[{"type":"text","text":"part"}]"#, "7"]
        let extras = [#""temperature":0.5"#, #""temperature":"x""#, #""top_p":1e-2"#, #""top_k":40"#, #""top_k":null"#,
                      #""max_tokens":64"#, #""max_tokens":0"#, #""max_tokens":null"#, #""max_completion_tokens":12"#, #""max_completion_tokens":-1"#,
                      #""user":"u""#, #""user":"""#, #""user":5"#, #""seed":1"#, #""stream":true"#, #""metadata":{"k":"v"}"#,
                      #""model":"ignored""#, #""te\u006dperature":0.25"#, #""stop":"s""#, #""n":2"#, #""tools":[]"#]
        var taken = 0
        let count = 3_000
        for _ in 0..<count {
            let messages = (0..<pick(5)).map { _ in
                var members = [#""role":\#(roles[pick(roles.count)])"#]
                if pick(6) > 0 { members.append(#""content":\#(contents[pick(contents.count)])"#) }
                if pick(8) == 0 { members.append(#""name":"n""#) }
                return "{" + members.shuffled(using: &random).joined(separator: ",") + "}"
            }
            var members = [#""messages":[\#(messages.joined(separator: ","))]"#]
            for _ in 0..<pick(3) { members.append(extras[pick(extras.count)]) }
            let body = "{" + members.shuffled(using: &random).joined(separator: ",") + "}"
            let options = AnthropicWire.RequestOptions(stream: pick(2) == 0, maxTokensDefault: pick(3) == 0 ? 99 : nil,
                                                       platformVersion: pick(4) == 0 ? AnthropicWire.bedrockVersion : nil)
            if Self.agrees(body, model: pick(2) == 0 ? "claude-sonnet-4-5" : "other", options: options) { taken += 1 }
        }
        #expect(taken > count / 6, "the pass took \(taken) of \(count)")
    }
}
