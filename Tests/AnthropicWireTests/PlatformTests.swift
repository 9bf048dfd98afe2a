import Testing
@testable import TollgatePluginKit
@testable import AnthropicWire

/// Anthropic on a cloud platform (Vertex AI, Bedrock InvokeModel): the model goes in the URL and
/// the body carries the platform's `anthropic_version`.
@Suite struct PlatformBodyTests {
    @Test func convertedBodiesCarryTheVersionAndNoModel() throws {
        let body = try Wire.convert(#"{"model":"my-claude","messages":[{"role":"user","content":"hi"}]}"#, model: "claude-sonnet-4-5@20250929",
                                    stream: true, platformVersion: AnthropicWire.vertexVersion)
        #expect(body == Wire.json(#"{"anthropic_version":"vertex-2023-10-16","max_tokens":64000,"messages":[{"role":"user","content":"hi"}],"stream":true}"#))
        let bytes = try AnthropicWire.requestBody(fromOpenAI: Array(#"{"messages":[{"role":"user","content":"hi"}]}"#.utf8), model: "claude-3-5-haiku",
                                                  options: .init(platformVersion: AnthropicWire.bedrockVersion))
        #expect(bytes.text == #"{"anthropic_version":"bedrock-2023-05-31","max_tokens":8192,"messages":[{"role":"user","content":"hi"}]}"#)
    }

    @Test func passthroughBodiesLoseTheModelAndGainTheVersion() throws {
        func edit(_ body: String) throws -> String {
            try AnthropicWire.platformBody(Array(body.utf8), anthropicVersion: "vertex-2023-10-16").text
        }
        let v = #""anthropic_version":"vertex-2023-10-16""#
        #expect(try edit(#"{"model":"claude-x","max_tokens":5,"messages":[]}"#) == "{\(v),\"max_tokens\":5,\"messages\":[]}")
        #expect(try edit("{\n  \"max_tokens\": 5,\n  \"model\": \"m\",\n  \"stream\": true\n}") == "{\(v),\n  \"max_tokens\": 5,\n  \"stream\": true\n}")
        #expect(try edit(#"{"max_tokens":5,"model":"m"}"#) == "{\(v),\"max_tokens\":5}")
        #expect(try edit(#"{"model":"m"}"#) == "{\(v)}")
        #expect(try edit("{}") == "{\(v)}")
        #expect(try edit(" { } ") == " {\(v) } ")
        // A client's own version is replaced in place; a body that already fits is unchanged.
        #expect(try edit(#"{"model":"m","anthropic_version":"2023-06-01","max_tokens":5}"#) == "{\(v),\"max_tokens\":5}")
        #expect(try edit(#"{"max_tokens":5, "anthropic_version" : "old"}"#) == #"{"max_tokens":5, "anthropic_version" : "vertex-2023-10-16"}"#)
        let fits = #"{"anthropic_version":"vertex-2023-10-16","max_tokens":5,"messages":[{"role":"user","content":"model"}]}"#
        #expect(try edit(fits) == fits)
        // Nested `model` keys are the client's content, not the member.
        #expect(try edit(#"{"metadata":{"model":"keep"},"model":"drop"}"#) == "{\(v),\"metadata\":{\"model\":\"keep\"}}")
        #expect(throws: PluginError.self) { try AnthropicWire.platformBody(Array("[1]".utf8), anthropicVersion: "v") }
        #expect(throws: PluginError.self) { try AnthropicWire.platformBody(Array(#"{"model":"m""#.utf8), anthropicVersion: "v") }
    }

    @Test func platformBodyRemovesTheNamedMembersToo() throws {
        func edit(_ body: String) throws -> String {
            try AnthropicWire.platformBody(Array(body.utf8), anthropicVersion: AnthropicWire.bedrockVersion, removing: ["stream"]).text
        }
        let v = #""anthropic_version":"bedrock-2023-05-31""#
        #expect(try edit(#"{"model":"m","stream":true,"max_tokens":5}"#) == "{\(v),\"max_tokens\":5}")
        #expect(try edit(#"{"stream":true,"model":"m"}"#) == "{\(v)}")
        #expect(try edit("{\n  \"max_tokens\": 5,\n  \"model\": \"m\",\n  \"stream\": true\n}") == "{\(v),\n  \"max_tokens\": 5\n}")
        #expect(try edit(#"{"anthropic_version":"x","stream":false,"max_tokens":5}"#) == "{\(v),\"max_tokens\":5}")
        #expect(try edit(#"{"max_tokens":5,"stream":true,"anthropic_version":"x"}"#) == "{\"max_tokens\":5,\(v)}")
        #expect(try edit(#"{"messages":[{"role":"user","content":"stream"}],"stream":true}"#)
            == "{\(v),\"messages\":[{\"role\":\"user\",\"content\":\"stream\"}]}", "only top-level members")
    }

    @Test func settingModelIsTheOnlyChangeForAnthropicsOwnAPI() throws {
        let same = #"{"model":"claude-sonnet-4-5","max_tokens":10}"#
        #expect(try AnthropicWire.settingModel("claude-sonnet-4-5", in: Array(same.utf8)).text == same)
        #expect(try AnthropicWire.settingModel("b", in: Array(#"{ "model" : "a", "x": 1 }"#.utf8)).text == #"{ "model" : "b", "x": 1 }"#)
        #expect(try AnthropicWire.settingModel("m", in: Array("{}".utf8)).text == #"{"model":"m"}"#)
    }

    @Test func maxOutputTokensByFamily() {
        #expect(AnthropicWire.maxOutputTokens(forModel: "claude-opus-4-1@20250805") == 32000)
        #expect(AnthropicWire.maxOutputTokens(forModel: "claude-3-5-haiku@20241022") == 8192)
        #expect(AnthropicWire.maxOutputTokens(forModel: "unknown") == 4096)
        #expect(AnthropicWire.maxOutputTokens(forModel: "us.anthropic.claude-3-5-haiku-20241022-v1:0") == 8192)
        #expect(AnthropicWire.maxOutputTokens(forModel: "Claude-Opus-4-5-20251101") == 64000)
        #expect(AnthropicWire.maxOutputTokens(forModel: "claude-opus-4-20250514") == 32000)
        #expect(AnthropicWire.maxOutputTokens(forModel: "claude-3") == 4096)
        #expect(AnthropicWire.maxOutputTokens(forModel: "") == 4096)
        #expect(AnthropicWire.maxOutputTokens(forModel: "claudé-sonnet-4") == 4096)
        // The family first in the table wins wherever it stands; a `c` just before one is no hindrance.
        #expect(AnthropicWire.maxOutputTokens(forModel: "claude-3-haiku+claude-opus-4-5") == 64000)
        #expect(AnthropicWire.maxOutputTokens(forModel: "cclaude-3-opus") == 4096)
        #expect(AnthropicWire.maxOutputTokens(forModel: "x.cCLAUDE-3-5-SONNET") == 8192)
    }

    /// Generated ids against the rule written plainly: the first family of the table found
    /// anywhere in the id, ignoring ASCII case.
    @Test func maxOutputTokensAsTheRuleSays() {
        let families = ["claude-opus-4-5", "claude-opus-4-1", "claude-opus-4", "claude-sonnet-4", "claude-haiku-4", "claude-3-7-sonnet",
                        "claude-3-5-sonnet", "claude-3-5-haiku", "claude-3-opus", "claude-3-sonnet", "claude-3-haiku"]
        let ceilings: [Int64] = [64000, 32000, 32000, 64000, 64000, 64000, 8192, 8192, 4096, 4096, 4096]
        let pieces = families + ["c", "C", "claude-", "-", "x", "@2025", "us.anthropic.", "claude-3", "é"]
        var random = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            var id = (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            if Bool.random(using: &random) { id = id.uppercased() }
            let lower = id.lowercased()
            let expected = families.firstIndex { lower.contains($0) }.map { ceilings[$0] } ?? 4096
            #expect(AnthropicWire.maxOutputTokens(forModel: id) == expected, "\(id)")
        }
    }
}
