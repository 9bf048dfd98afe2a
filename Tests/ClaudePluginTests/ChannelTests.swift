import Testing
@testable import TollgatePluginKit
@testable import ClaudePlugin

@Suite struct ChannelSettingsTests {
    @Test func readsSettingsWithDefaults() throws {
        let plain = try ChannelSettings(Claude.json(#"{"name":"c","provider":"claude","credentials":{"api_key":"k"},"options":{}}"#))
        #expect(plain == ChannelSettings(apiKey: "k"))
        let full = try ChannelSettings(Claude.json(#"{"base_url":"http://127.0.0.1:9/v1/","credentials":{"api_key":"k"},"options":{"anthropic_version":"2024-10-22","max_tokens_default":"2048"}}"#))
        #expect(full == ChannelSettings(baseURL: "http://127.0.0.1:9", apiKey: "k", anthropicVersion: "2024-10-22", maxTokensDefault: 2048))
        let numeric = try ChannelSettings(Claude.json(#"{"api_version":"2023-01-01","credentials":{"api_key":"k"},"options":{"max_tokens_default":512}}"#))
        #expect(numeric.maxTokensDefault == 512 && numeric.anthropicVersion == "2023-01-01")
    }

    @Test func refusesBadSettingsNamingTheField() {
        func failure(_ settings: String) -> PluginError? {
            do { _ = try ChannelSettings(Claude.json(settings)); return nil } catch { return error }
        }
        #expect(failure(#"{"credentials":{}}"#)?.message.contains("credentials.api_key") == true)
        #expect(failure(#"{"credentials":{"api_key":""}}"#)?.kind == .config)
        #expect(failure(#"{"base_url":"api.anthropic.com","credentials":{"api_key":"k"}}"#)?.message.contains("base_url") == true)
        #expect(failure(#"{"credentials":{"api_key":"k"},"options":{"max_tokens_default":"lots"}}"#)?.message.contains("options.max_tokens_default") == true)
        #expect(failure(#"{"credentials":{"api_key":"k"},"options":{"anthropic_version":""}}"#)?.message.contains("options.anthropic_version") == true)
    }

    @Test func pluginIdentity() throws {
        #expect(ClaudePlugin.name == "claude" && ClaudePlugin.version == "1.0.0" && ClaudePlugin.providerIDs == ["claude"])
        let channel = try ClaudePlugin(providerID: "claude", apiVersion: "").makeChannel(settings: Claude.json(#"{"credentials":{"api_key":"k"}}"#))
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

@Suite struct SSEReaderTests {
    @Test func readsFieldsCommentsAndMultilineData() throws {
        var reader = SSEReader()
        var events: [SSEEvent] = []
        try reader.feed(Array(": hello\n\nevent: a\ndata: 1\ndata:2\nid: 7\n\ndata: x".utf8)) { events.append($0) }
        #expect(events.count == 2)
        #expect(events[0].isEmpty)
        #expect(events[1].name == Array("a".utf8) && events[1].data == Array("1\n2".utf8))
        #expect(reader.hasPartialEvent)
        #expect(reader.finish()?.data == Array("x".utf8))
        #expect(!reader.hasPartialEvent)
    }
}
