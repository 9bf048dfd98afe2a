import Foundation
import Testing
import TollgatePluginKit
@testable import VertexPlugin

/// Channels built the way the plugin builds them, with a scripted token endpoint and a fixed clock.
enum Vertex {
    static let email = "gateway@acme-prod.iam.gserviceaccount.com"

    /// A key file's JSON text around the test RSA key.
    static func keyJSON(project: String = "acme-prod", tokenURI: String = "https://oauth2.googleapis.com/token") -> String {
        JSONValue.object([
            "type": .string("service_account"), "project_id": .string(project),
            "private_key_id": .string("0123456789abcdef"), "private_key": .string(Keys.rsa),
            "client_email": .string(email), "token_uri": .string(tokenURI),
        ]).jsonString
    }

    static func settings(_ json: String) throws(PluginError) -> VertexSettings {
        do { return try VertexSettings(try JSONParser.parse(json)) } catch let error as PluginError { throw error } catch {
            fatalError("test settings do not parse: \(error)")
        }
    }

    /// Settings JSON with the inline key and extra members (`"options":{...}` and so on).
    static func settingsJSON(_ extra: String = "") -> String {
        #"{"name":"vertex","provider":"vertex","credentials":{"service_account_json":\#(JSONValue.string(keyJSON()).jsonString)}\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    static func channel(_ extra: String = #""base_url":"http://127.0.0.1:9""#, endpoint: MockTokenEndpoint = MockTokenEndpoint()) throws -> VertexChannel {
        let cache = TokenCache(post: endpoint.post, clock: ManualClock(seconds: 1_767_225_600).clock)
        return try VertexChannel(settings: try settings(settingsJSON(extra)), tokens: cache, clock: { 0 })
    }

    static func build(_ channel: VertexChannel, _ body: String, model: String, stream: Bool = false, dialect: Dialect = .openAI,
                      headers: [(String, String)] = []) throws(PluginError) -> PluginUpstreamRequest {
        try channel.buildRequest(PluginRequest(operation: .chat, model: model, body: Array(body.utf8), dialect: dialect, stream: stream,
                                               clientHeaders: headers))
    }

    static func json(_ bytes: [UInt8]) -> JSONValue? { try? JSONParser.parse(bytes) }

    /// Feeds `chunks` to a fresh stream and finishes it.
    static func run(_ stream: any AdaptorStream, _ chunks: [[UInt8]]) -> (out: String, usage: PluginUsage, error: PluginError?) {
        var out: [UInt8] = []
        var usage = PluginUsage()
        do throws(PluginError) {
            for chunk in chunks {
                let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(chunk.count, 1), alignment: 1)
                defer { raw.deallocate() }
                raw.copyBytes(from: chunk)
                out += try stream.feed(UnsafeRawBufferPointer(rebasing: raw[0..<chunk.count]), usage: &usage)
            }
            out += try stream.finish(usage: &usage)
            return (String(decoding: out, as: UTF8.self), usage, nil)
        } catch {
            return (String(decoding: out + error.output, as: UTF8.self), usage, error)
        }
    }

    static let anthropicSSE = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_v\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ].joined()

    static let geminiSSE = [
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n",
        "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":2,\"totalTokenCount\":9}}\r\n\r\n",
    ].joined()
}

@Suite struct VertexSettingsTests {
    @Test func readsTheInlineKeyWithDefaults() throws {
        let settings = try Vertex.settings(Vertex.settingsJSON())
        #expect(settings.account.projectID == "acme-prod" && settings.account.clientEmail == Vertex.email)
        #expect(settings.account.tokenURI == "https://oauth2.googleapis.com/token")
        #expect(settings.urls == (try VertexURLs(project: "acme-prod", location: "us-central1")))
        #expect(settings.urls.base == "https://us-central1-aiplatform.googleapis.com")
        #expect(settings.maxTokensDefault == nil)
    }

    @Test func optionsOverrideProjectLocationTokenURIBaseAndVersion() throws {
        let settings = try Vertex.settings(Vertex.settingsJSON(#""base_url":"http://127.0.0.1:8/","api_version":"v1beta1","options":{"project":"other","location":"europe-west4","token_uri":"http://127.0.0.1:8/token","max_tokens_default":"2048"}"#))
        #expect(settings.urls == (try VertexURLs(project: "other", location: "europe-west4", apiVersion: "v1beta1", baseURL: "http://127.0.0.1:8")))
        #expect(settings.account.tokenURI == "http://127.0.0.1:8/token")
        #expect(settings.maxTokensDefault == 2048)
        let global = try Vertex.settings(Vertex.settingsJSON(#""options":{"location":"global","api_version":"v1"}"#))
        #expect(global.urls.base == "https://aiplatform.googleapis.com" && global.urls.apiVersion == "v1")
    }

    @Test func readsTheKeyFromAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vertex-key-\(UUID().uuidString).json").path
        try Vertex.keyJSON(project: "from-file").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let settings = try Vertex.settings(#"{"credentials":{"service_account_file":\#(JSONValue.string(path).jsonString)}}"#)
        #expect(settings.account.projectID == "from-file" && settings.urls.project == "from-file")
    }

    @Test func refusesBadSettingsNamingTheField() {
        func failure(_ json: String) -> PluginError? {
            do { _ = try Vertex.settings(json); return nil } catch { return error }
        }
        let key = JSONValue.string(Vertex.keyJSON()).jsonString
        #expect(failure(#"{"credentials":{}}"#)?.message.contains("credentials.service_account_json") == true)
        #expect(failure(#"{"credentials":{"service_account_json":""}}"#)?.kind == .config)
        #expect(failure(#"{"credentials":{"service_account_json":\#(key),"service_account_file":"/x"}}"#)?.message.contains("not both") == true)
        #expect(failure(#"{"credentials":{"service_account_file":"/nonexistent/key.json"}}"#)?.message.contains("credentials.service_account_file: cannot open") == true)
        #expect(failure(#"{"credentials":{"service_account_json":"{not json"}}"#)?.message.hasPrefix("credentials.service_account_json: service account key is not JSON") == true)
        #expect(failure(#"{"credentials":{"service_account_json":"{\"type\":\"authorized_user\"}"}}"#)?.message.contains("service_account") == true)
        #expect(failure(#"{"base_url":"ftp://x","credentials":{"service_account_json":\#(key)}}"#)?.message.contains("not an http(s) URL") == true)
        #expect(failure(#"{"credentials":{"service_account_json":\#(key)},"options":{"location":"Moon Base"}}"#)?.message.contains("region") == true)
        #expect(failure(#"{"credentials":{"service_account_json":\#(key)},"options":{"token_uri":"file:///etc"}}"#)?.message.contains("token URI") == true)
        #expect(failure(#"{"credentials":{"service_account_json":\#(key)},"options":{"max_tokens_default":"lots"}}"#)?.message.contains("options.max_tokens_default") == true)
        #expect(failure(#"{"credentials":{"service_account_json":\#(key)},"options":{"project":5}}"#)?.message.contains("options.project") == true)
        #expect(failure(#"{"credentials":{"service_account_json":\#(key)},"options":{"api_version":"v1/x"}}"#)?.message.contains("api_version") == true)
    }

    @Test func aBadPrivateKeyIsRefusedWhenTheChannelIsMade() throws {
        let key = JSONValue.object([
            "type": .string("service_account"), "project_id": .string("p"), "private_key_id": .string("k"),
            "private_key": .string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "client_email": .string("a@b"),
        ]).jsonString
        let settings = try Vertex.settings(#"{"credentials":{"service_account_json":\#(JSONValue.string(key).jsonString)}}"#)
        #expect(throws: PluginError.self) { try VertexChannel(settings: settings, tokens: TokenCache()) }
    }

    @Test func pluginIdentity() throws {
        #expect(VertexPlugin.name == "vertex" && VertexPlugin.version == "1.0.0" && VertexPlugin.providerIDs == ["vertex"])
        #expect(VertexPlugin.buildMayBlock)
        let channel = try VertexPlugin(providerID: "vertex", apiVersion: "").makeChannel(settings: JSONParser.parse(Vertex.settingsJSON()))
        #expect(channel.accepts(.anthropic, model: "claude-sonnet-4-5@20250929"))
        #expect(!channel.accepts(.anthropic, model: "gemini-2.5-flash"))
        #expect(channel.accepts(.gemini, model: "gemini-2.5-flash"))
        #expect(!channel.accepts(.gemini, model: "claude-3-5-haiku"))
        #expect(!channel.accepts(.openAI, model: "gemini-2.5-flash"))
    }
}

@Suite struct VertexRequestTests {
    static let chat = #"{"model":"alias","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":50}"#
    static let base = "http://127.0.0.1:9/v1/projects/acme-prod/locations/us-central1/publishers"

    @Test func claudeModelsUseAnthropicsEndpointsAndBodies() throws {
        let endpoint = MockTokenEndpoint()
        let channel = try Vertex.channel(endpoint: endpoint)
        let built = try Vertex.build(channel, Self.chat, model: "claude-sonnet-4-5@20250929", headers: [("anthropic-beta", "b1"), ("anthropic-version", "2023-06-01")])
        #expect(built.method == "POST")
        #expect(built.url == Self.base + "/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
        #expect(built.headers.contains { $0 == ("authorization", "Bearer tok-0") })
        #expect(built.headers.contains { $0 == ("content-type", "application/json") })
        #expect(built.headers.contains { $0 == ("anthropic-beta", "b1") })
        #expect(!built.headers.contains { $0.0 == "anthropic-version" }, "the version is in the body")
        #expect(Vertex.json(built.body) == (try JSONParser.parse(#"{"anthropic_version":"vertex-2023-10-16","max_tokens":50,"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#)))

        let streamed = try Vertex.build(channel, Self.chat, model: "claude-sonnet-4-5@20250929", stream: true)
        #expect(streamed.url == Self.base + "/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
        #expect(Vertex.json(streamed.body)?["stream"] == .bool(true))
        #expect(Vertex.json(streamed.body)?["model"] == nil)
        #expect(endpoint.count == 1, "one token for both requests")
    }

    @Test func otherModelsUseGooglesEndpointsAndGeminiBodies() throws {
        let channel = try Vertex.channel()
        let built = try Vertex.build(channel, Self.chat, model: "gemini-2.5-flash", headers: [("anthropic-beta", "b1")])
        #expect(built.url == Self.base + "/google/models/gemini-2.5-flash:generateContent")
        #expect(built.headers.contains { $0 == ("authorization", "Bearer tok-0") })
        #expect(!built.headers.contains { $0.0 == "anthropic-beta" })
        let body = try #require(Vertex.json(built.body))
        #expect(body["contents"] == (try JSONParser.parse(#"[{"role":"user","parts":[{"text":"hi"}]}]"#)))
        #expect(body["systemInstruction"]?["parts"]?[0]?["text"]?.stringValue == "be brief")
        #expect(body["generationConfig"]?["maxOutputTokens"]?.int64Value == 50)
        #expect(body["model"] == nil)

        let streamed = try Vertex.build(channel, Self.chat, model: "gemini-2.5-flash", stream: true)
        #expect(streamed.url == Self.base + "/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
    }

    @Test func passthroughBodies() throws {
        let channel = try Vertex.channel()
        let anthropic = #"{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"stream":true}"#
        let built = try Vertex.build(channel, anthropic, model: "claude-3-5-haiku@20241022", stream: true, dialect: .anthropic)
        #expect(String(decoding: built.body, as: UTF8.self) == #"{"anthropic_version":"vertex-2023-10-16","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"stream":true}"#)
        #expect(built.url.hasSuffix("/anthropic/models/claude-3-5-haiku@20241022:streamRawPredict"))

        let gemini = #"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#
        let passed = try Vertex.build(channel, gemini, model: "gemini-2.5-pro", dialect: .gemini)
        #expect(passed.body == Array(gemini.utf8))
        #expect(passed.url.hasSuffix("/google/models/gemini-2.5-pro:generateContent"))
    }

    @Test func refusesWhatVertexCannotServe() throws {
        let channel = try Vertex.channel()
        // Embeddings are Google's text-embedding models' (`predict`), never Claude's.
        #expect(throws: PluginError.self) {
            try channel.buildRequest(PluginRequest(operation: .embeddings, model: "claude-x", body: Array(#"{"input":"x"}"#.utf8), stream: false))
        }
        let embed = try channel.buildRequest(PluginRequest(operation: .embeddings, model: "text-embedding-005", body: Array(#"{"input":"x"}"#.utf8), stream: false))
        #expect(embed.url.hasSuffix("/google/models/text-embedding-005:predict"))
        #expect(throws: PluginError.self) { try Vertex.build(channel, #"{"contents":[]}"#, model: "claude-x", dialect: .gemini) }
        #expect(throws: PluginError.self) { try Vertex.build(channel, #"{"messages":[]}"#, model: "gemini-x", dialect: .anthropic) }
        #expect(throws: PluginError.self) { try Vertex.build(channel, "{oops", model: "claude-x") }
    }

    @Test func aFailedTokenExchangeIsAnAuthError() throws {
        let endpoint = MockTokenEndpoint { _, _ in (400, Array(#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.utf8)) }
        let channel = try Vertex.channel(endpoint: endpoint)
        do {
            _ = try Vertex.build(channel, Self.chat, model: "gemini-2.5-flash")
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == .auth)
            #expect(error.message.contains("invalid_grant: Invalid JWT Signature."))
        }
    }

    @Test func a401DropsTheCachedToken() throws {
        let endpoint = MockTokenEndpoint()
        let channel = try Vertex.channel(endpoint: endpoint)
        _ = try Vertex.build(channel, Self.chat, model: "gemini-2.5-flash")
        _ = try channel.convertResponse(PluginResponse(status: 401, body: Array(#"{"error":{"code":401,"message":"expired","status":"UNAUTHENTICATED"}}"#.utf8), model: "gemini-2.5-flash"))
        let again = try Vertex.build(channel, Self.chat, model: "gemini-2.5-flash")
        #expect(again.headers.contains { $0 == ("authorization", "Bearer tok-1") })
        #expect(endpoint.count == 2)
    }
}

@Suite struct VertexAnswerTests {
    static let anthropicAnswer = #"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"cache_read_input_tokens":4,"cache_creation_input_tokens":2,"output_tokens":3}}"#
    static let geminiAnswer = #"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":2,"totalTokenCount":9,"cachedContentTokenCount":3}}"#

    /// The client's model name may be an alias: the answer's shape decides.
    @Test func answersAreConvertedByTheirShape() throws {
        let channel = try Vertex.channel()
        let claude = try channel.convertResponse(PluginResponse(status: 200, body: Array(Self.anthropicAnswer.utf8), model: "my-alias"))
        let claudeJSON = try #require(Vertex.json(claude.body))
        #expect(claudeJSON["model"]?.stringValue == "my-alias" && claudeJSON["created"]?.int64Value == 0)
        #expect(claudeJSON["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi")
        #expect(claude.usage == PluginUsage(prompt: 16, completion: 3, cacheRead: 4, cacheCreation: 2))

        let gemini = try channel.convertResponse(PluginResponse(status: 200, body: Array(Self.geminiAnswer.utf8), model: "claude-looking-alias"))
        let geminiJSON = try #require(Vertex.json(gemini.body))
        #expect(geminiJSON["object"]?.stringValue == "chat.completion")
        #expect(geminiJSON["choices"]?[0]?["message"]?["content"]?.stringValue == "Hi")
        #expect(geminiJSON["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
        #expect(gemini.usage.prompt == 7 && gemini.usage.completion == 2 && gemini.usage.cacheRead == 3)
    }

    @Test func errorsKeepTheirStatusInEitherShape() throws {
        let channel = try Vertex.channel()
        let google = try channel.convertResponse(PluginResponse(status: 429, body: Array(#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#.utf8), model: "claude-sonnet-4-5"))
        #expect(google.status == 429)
        #expect(Vertex.json(google.body)?["error"]?["message"]?.stringValue == "Quota exceeded")
        #expect(Vertex.json(google.body)?["error"]?["code"]?.stringValue == "RESOURCE_EXHAUSTED")
        let anthropic = try channel.convertResponse(PluginResponse(status: 529, body: Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8), model: "gemini-alias"))
        #expect(anthropic.status == 529)
        #expect(Vertex.json(anthropic.body)?["error"]?["type"]?.stringValue == "overloaded_error")
        let html = try channel.convertResponse(PluginResponse(status: 502, body: Array("<html>bad gateway</html>".utf8), model: "claude-x"))
        #expect(html.status == 502 && Vertex.json(html.body)?["error"]?["message"]?.stringValue?.contains("bad gateway") == true)
    }

    @Test func passthroughAnswersAreRelayedWithUsage() throws {
        let channel = try Vertex.channel()
        let claude = try channel.convertResponse(PluginResponse(status: 200, body: Array(Self.anthropicAnswer.utf8), model: "m", dialect: .anthropic))
        #expect(claude.body == Array(Self.anthropicAnswer.utf8) && claude.usage.prompt == 16)
        let gemini = try channel.convertResponse(PluginResponse(status: 200, body: Array(Self.geminiAnswer.utf8), model: "m", dialect: .gemini))
        #expect(gemini.body == Array(Self.geminiAnswer.utf8) && gemini.usage.prompt == 7)
        let failed = try channel.convertResponse(PluginResponse(status: 400, body: Array(#"{"error":{"message":"bad"}}"#.utf8), model: "m", dialect: .gemini))
        #expect(failed.status == 400 && failed.usage.isEmpty)
    }

    @Test func streamsAreConvertedByTheirFirstEventWhateverTheSplit() throws {
        let channel = try Vertex.channel()
        for (text, expected) in [(Vertex.anthropicSSE, VertexURLs.Publisher.anthropic), (Vertex.geminiSSE, .google)] {
            let bytes = Array(text.utf8)
            let whole = Vertex.run(try channel.makeStream(PluginStreamParams(model: "alias", includeUsage: true)), [bytes])
            #expect(whole.error == nil, "\(expected): \(String(describing: whole.error))")
            #expect(whole.out.contains(#""content":"Hi""#) || whole.out.contains(#""content":"Hel""#))
            #expect(whole.out.hasSuffix("data: [DONE]\n\n"))
            #expect(whole.out.contains(#""model":"alias""#))
            let byteByByte = Vertex.run(try channel.makeStream(PluginStreamParams(model: "alias", includeUsage: true)), bytes.map { [$0] })
            #expect(byteByByte.error == nil)
            #expect(byteByByte.usage == whole.usage)
            #expect(byteByByte.out.components(separatedBy: "\n\n").count == whole.out.components(separatedBy: "\n\n").count)
            let stream = PublisherSniffingStream(fallback: expected == .anthropic ? .google : .anthropic) { publisher in
                try! channel.makeStream(PluginStreamParams(model: publisher == .anthropic ? "claude-x" : "gemini-x", includeUsage: false, dialect: publisher == .anthropic ? .anthropic : .gemini))
            }
            _ = Vertex.run(stream, [bytes])
            #expect(stream.publisher == expected, "the shape wins over the fallback")
        }
        let claudeUsage = Vertex.run(try channel.makeStream(PluginStreamParams(model: "x", includeUsage: false)), [Array(Vertex.anthropicSSE.utf8)]).usage
        #expect(claudeUsage == PluginUsage(prompt: 14, completion: 3, cacheRead: 4))
    }

    @Test func aStreamEndingBeforeItsFirstEventUsesTheModelName() throws {
        let channel = try Vertex.channel()
        let empty = Vertex.run(try channel.makeStream(PluginStreamParams(model: "claude-x", includeUsage: false)), [])
        #expect(empty.error?.message == "stream ended before message_stop")
        let cut = Vertex.run(try channel.makeStream(PluginStreamParams(model: "gemini-x", includeUsage: false)), [Array("data: {\"cand".utf8)])
        #expect(cut.error?.kind == .upstream)
    }

    @Test func passthroughStreamsAreRelayed() throws {
        let channel = try Vertex.channel()
        let claude = Vertex.run(try channel.makeStream(PluginStreamParams(model: "claude-x", includeUsage: false, dialect: .anthropic)), [Array(Vertex.anthropicSSE.utf8)])
        #expect(claude.error == nil && claude.out == Vertex.anthropicSSE && claude.usage.prompt == 14)
        let gemini = Vertex.run(try channel.makeStream(PluginStreamParams(model: "gemini-x", includeUsage: false, dialect: .gemini)), [Array(Vertex.geminiSSE.utf8)])
        #expect(gemini.error == nil && gemini.out == Vertex.geminiSSE && gemini.usage.prompt == 7)
    }
}
