import Testing
@testable import TollgatePluginKit
@testable import ClaudePlugin
@testable import AnthropicWire

@Suite struct ChannelSettingsTests {
    @Test func readsSettingsWithDefaults() throws {
        let plain = try ChannelSettings(Wire.json(#"{"name":"c","provider":"claude","credentials":{"api_key":"k"},"options":{}}"#))
        #expect(plain == ChannelSettings(apiKey: "k"))
        let full = try ChannelSettings(Wire.json(#"{"base_url":"http://127.0.0.1:9/v1/","credentials":{"api_key":"k"},"options":{"anthropic_version":"2024-10-22","max_tokens_default":"2048"}}"#))
        #expect(full == ChannelSettings(baseURL: "http://127.0.0.1:9", apiKey: "k", anthropicVersion: "2024-10-22", maxTokensDefault: 2048))
        let numeric = try ChannelSettings(Wire.json(#"{"api_version":"2023-01-01","credentials":{"api_key":"k"},"options":{"max_tokens_default":512}}"#))
        #expect(numeric.maxTokensDefault == 512 && numeric.anthropicVersion == "2023-01-01")
    }

    @Test func refusesBadSettingsNamingTheField() {
        func failure(_ settings: String) -> PluginError? {
            do { _ = try ChannelSettings(Wire.json(settings)); return nil } catch { return error }
        }
        #expect(failure(#"{"credentials":{}}"#)?.message.contains("credentials.api_key") == true)
        #expect(failure(#"{"credentials":{"api_key":""}}"#)?.kind == .config)
        #expect(failure(#"{"base_url":"api.anthropic.com","credentials":{"api_key":"k"}}"#)?.message.contains("base_url") == true)
        #expect(failure(#"{"credentials":{"api_key":"k"},"options":{"max_tokens_default":"lots"}}"#)?.message.contains("options.max_tokens_default") == true)
        #expect(failure(#"{"credentials":{"api_key":"k"},"options":{"anthropic_version":""}}"#)?.message.contains("options.anthropic_version") == true)
    }

    @Test func pluginIdentity() throws {
        #expect(ClaudePlugin.name == "claude" && ClaudePlugin.version == "1.0.0" && ClaudePlugin.providerIDs == ["claude"])
        let channel = try ClaudePlugin(providerID: "claude", apiVersion: "").makeChannel(settings: Wire.json(#"{"credentials":{"api_key":"k"}}"#))
        #expect(channel.accepts(.anthropic, model: "claude-sonnet-4-5"))
        #expect(!channel.accepts(.gemini, model: "claude-sonnet-4-5"))
    }
}

@Suite struct PassthroughRequestTests {
    @Test func sendsTheBodyUnchangedButForTheModel() throws {
        let same = #"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"stream":true}"#
        let built = try Claude.build(same, dialect: .anthropic, headers: [("anthropic-version", "2025-05-01"), ("anthropic-beta", "a,b")])
        #expect(built.body == Array(same.utf8))
        #expect(built.url == "https://api.anthropic.com/v1/messages")
        #expect(built.headers.contains { $0 == ("anthropic-version", "2023-06-01") } && built.headers.contains { $0 == ("anthropic-beta", "a,b") })

        let renamed = try Claude.build(#"{ "max_tokens": 10, "model" : "alias", "messages": [] }"#, model: "claude-3-5-haiku-20241022", dialect: .anthropic)
        #expect(renamed.body.text == #"{ "max_tokens": 10, "model" : "claude-3-5-haiku-20241022", "messages": [] }"#)

        let missing = try Claude.build(#"{"max_tokens":10}"#, model: "m", dialect: .anthropic)
        #expect(missing.body.text == #"{"model":"m","max_tokens":10}"#)
        #expect(throws: PluginError.self) { try Claude.build("[1]", dialect: .anthropic) }
    }
}

@Suite struct ClaudeChannelTests {
    @Test func buildsTheUpstreamRequest() throws {
        let built = try Claude.build(#"{"model":"my-claude","messages":[{"role":"user","content":"hi"}]}"#,
                                     headers: [("anthropic-version", "2025-01-01"), ("anthropic-beta", "prompt-caching-2024-07-31"),
                                               ("openai-beta", "x")])
        #expect(built.method == "POST")
        #expect(built.url == "https://api.anthropic.com/v1/messages")
        #expect(built.headers.filter { $0.0 == "anthropic-version" }.map(\.1) == ["2023-06-01"], "the channel's version, not the client's")
        #expect(built.headers.contains { $0 == ("x-api-key", "sk-ant-test") })
        #expect(built.headers.contains { $0 == ("content-type", "application/json") })
        #expect(built.headers.contains { $0 == ("anthropic-beta", "prompt-caching-2024-07-31") })
        #expect(!built.headers.contains { $0.0 == "openai-beta" })
        #expect(!built.headers.contains { $0.0.lowercased() == "authorization" })
        #expect(Wire.json(built.body.text) == Wire.json(#"{"model":"claude-sonnet-4-5","max_tokens":64000,"messages":[{"role":"user","content":"hi"}]}"#))
        #expect(try Claude.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, stream: true)["stream"] == .bool(true))
    }

    @Test func maxTokensDefaultComesFromTheChannel() throws {
        let channel = ClaudeChannel(settings: ChannelSettings(apiKey: "k", maxTokensDefault: 1234))
        #expect(try Claude.convert(#"{"messages":[{"role":"user","content":"x"}]}"#, on: channel)["max_tokens"]?.int64Value == 1234)
        #expect(try Claude.convert(#"{"max_tokens":9,"messages":[{"role":"user","content":"x"}]}"#, on: channel)["max_tokens"]?.int64Value == 9)
    }

    @Test func refusesEmbeddingsGeminiAndNonJSON() {
        #expect(throws: PluginError.self) {
            try Claude.channel.buildRequest(PluginRequest(operation: .embeddings, model: "m", body: Array(#"{"input":"x"}"#.utf8),
                                                          dialect: .openAI, stream: false, clientHeaders: []))
        }
        #expect(throws: PluginError.self) { try Claude.build(#"{"contents":[]}"#, dialect: .gemini) }
        #expect((try? Claude.build("{oops")) == nil)
    }

    @Test func answersAndStreamsGoThroughTheWire() throws {
        let answer = #"{"id":"msg_1","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#
        let converted = try Claude.channel.convertResponse(Wire.response(answer))
        #expect(Wire.json(converted.body.text)["choices"]?[0]?["message"]?["content"]?.stringValue == "hi")
        #expect(Wire.json(converted.body.text)["created"]?.int64Value == 0, "the channel's clock")
        #expect(try Claude.channel.convertResponse(Wire.response(answer, dialect: .anthropic)).body == Array(answer.utf8))

        let events = Wire.event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"input_tokens":3}}}"#)
            + Wire.event("message_stop", #"{"type":"message_stop"}"#)
        let relayed = Claude.run(events, dialect: .anthropic)
        #expect(relayed.error == nil && relayed.out.text == events)
        let converted2 = Claude.run(events)
        #expect(converted2.error == nil && Wire.events(converted2.out).last == .string("[DONE]"))
        #expect(converted2.usage.prompt == 3)
    }
}

/// Shorthands for the Claude channel tests: the channel's own request building and its streams,
/// which delegate to AnthropicWire.
enum Claude {
    static let channel = ClaudeChannel(settings: ChannelSettings(apiKey: "sk-ant-test"), clock: { 0 })

    /// The upstream request built for an OpenAI body.
    static func build(_ body: String, model: String = "claude-sonnet-4-5", stream: Bool = false, dialect: Dialect = .openAI,
                      headers: [(String, String)] = [], on channel: ClaudeChannel = channel) throws(PluginError) -> PluginUpstreamRequest {
        try channel.buildRequest(PluginRequest(operation: .chat, model: model, body: Array(body.utf8), dialect: dialect,
                                               stream: stream, clientHeaders: headers))
    }

    /// The Anthropic body the channel builds for an OpenAI body.
    static func convert(_ body: String, model: String = "claude-sonnet-4-5", stream: Bool = false,
                        on channel: ClaudeChannel = channel) throws(PluginError) -> JSONValue {
        let built = try build(body, model: model, stream: stream, on: channel)
        return Wire.json(String(decoding: built.body, as: UTF8.self))
    }

    /// Runs text through a stream made by the channel.
    static func run(_ text: String, includeUsage: Bool = false, dialect: Dialect = .openAI)
        -> (out: [UInt8], usage: PluginUsage, error: PluginError?) {
        var out: [UInt8] = []
        var usage = PluginUsage()
        do throws(PluginError) {
            let stream = try channel.makeStream(PluginStreamParams(operation: .chat, model: "my-claude", headers: [],
                                                                   includeUsage: includeUsage, requestBody: [], dialect: dialect))
            out += try Wire.feed(stream, Array(text.utf8), &usage)
            out += try stream.finish(usage: &usage)
            return (out, usage, nil)
        } catch {
            return (out + error.output, usage, error)
        }
    }
}
