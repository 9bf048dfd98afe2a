import Foundation
import Testing
@testable import TollgateCore

/// Template files: validation with the file and field named, refusal of bad ones while the
/// others load, conflicts, the last good version kept, and the install API.
@Suite struct TemplateLoadingTests {
    static let minimal = #"{"provider":"acme","base_url":"https://api.acme.test/v1","endpoints":{"chat":"/chat/completions"}}"#

    func refusal(_ json: String) -> TemplateError? {
        do { _ = try AdaptorTemplate.parse(Array(json.utf8), source: "t.json"); return nil } catch { return error }
    }

    /// The minimal template with `extra` members added (raw JSON members, comma-led).
    func with(_ extra: String) -> String { String(Self.minimal.dropLast()) + "," + extra + "}" }

    @Test func everyShippedTemplateLoads() throws {
        let registry = TemplateRegistry()
        registry.reload(directory: BuildProducts.packageRoot + "/adaptor-templates")
        let refused = registry.reports.filter { if case .refused = $0.status { true } else { false } }
        #expect(refused.isEmpty, "\(refused.map(\.line))")
        #expect(registry.providerIDs == ["azure", "cohere", "dashscope", "deepseek", "fireworks", "groq", "mistral", "moonshot",
                                         "ollama", "openrouter", "together", "vllm", "xai"])
        #expect(registry.template(for: "deepseek")?.passesBodiesThrough == true)
        #expect(registry.template(for: "cohere")?.passesBodiesThrough == false)
    }

    @Test func malformedTemplatesNameTheFieldAndWhy() {
        #expect(refusal("{\"provider\": ")?.description.hasPrefix("t.json: invalid JSON: unexpected end of JSON at byte") == true)
        #expect(refusal(with(#""auth":{"style":"magic"}"#))?.description
                == "t.json: auth.style: unknown auth style 'magic' (expected bearer, header, query or none)")
        #expect(refusal(with(#""auth":{"style":"header"}"#))?.field == "auth.name")
        #expect(refusal(with(#""request":[{"op":"rename","from":"$.a..b","to":"$.c"}]"#))?.description
                == "t.json: request[0].from: bad path '$.a..b' at character 5: '..' (recursive descent) is not supported")
        #expect(refusal(with(#""request":[{"op":"move","path":"$.a"}]"#))?.field == "request[0].op")
        #expect(refusal(with(#""request":[{"op":"set","path":"$.a"}]"#))?.field == "request[0].value")
        #expect(refusal(#"{"provider":"acme","base_url":"https://x.test"}"#)?.description
                == "t.json: endpoints: is required (at least chat or embeddings)")
        #expect(refusal(#"{"provider":"acme","base_url":"https://x.test","endpoints":{}}"#)?.description
                == "t.json: endpoints: needs chat or embeddings")
        #expect(refusal(#"{"provider":"acme","base_url":"https://x.test","endpoints":{"chat":"v1/chat"}}"#)?.field == "endpoints.chat")
        #expect(refusal(#"{"provider":"acme","base_url":"https://x.test","endpoints":{"chat":"/{region}/chat"}}"#)?.message
                == "unknown placeholder '{region}' (allowed: {model}, {deployment}, {api_version})")
        #expect(refusal(#"{"provider":"acme","base_url":"https://x.test","endpoints":{"images":"/c"}}"#)?.field == "endpoints.images")
        #expect(refusal(#"{"provider":"acme","base_url":"https://x.test","endpoints":{"completions":"/c"}}"#)?.field == "endpoints",
                "legacy completions alone are not enough")
        #expect(refusal(#"{"provider":"Acme!","base_url":"https://x.test","endpoints":{"chat":"/c"}}"#)?.field == "provider")
        #expect(refusal(#"{"provider":"openai","base_url":"https://x.test","endpoints":{"chat":"/c"}}"#)?.message == "'openai' is built into the core")
        #expect(refusal(#"{"base_url":"https://x.test","endpoints":{"chat":"/c"}}"#)?.field == "provider")
        #expect(refusal(with(#""colour":"blue""#))?.field == "colour")
        #expect(refusal(with(#""response":{"content":"$.choices[*].text"}"#))?.message == "'$.choices[*].text' uses [*] but must name a single value")
        #expect(refusal(with(#""response":{"content":"$.a","usage":{"prompt_tokens":"$.u.i"}}"#))?.field == "response.usage.completion_tokens")
        #expect(refusal(with(#""stream":{"format":"events","events":{"delta":{"content":"$.t"}}}"#))?.field == "response")
        #expect(refusal(with(#""stream":{"format":"sse"}"#))?.description == "t.json: stream.format: unknown stream format 'sse' (expected openai or events)")
        #expect(refusal(with(#""headers":{"x-ok":1}"#))?.field == "headers.x-ok")
    }

    @Test func aBadFileIsRefusedWhileTheOthersLoad() throws {
        let dir = try FixturePlugins.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.minimal.write(toFile: dir + "/acme.json", atomically: true, encoding: .utf8)
        try with(#""auth":{"style":"magic"}"#).replacingOccurrences(of: "acme", with: "broken").write(toFile: dir + "/broken.json", atomically: true, encoding: .utf8)
        try Self.minimal.write(toFile: dir + "/duplicate.json", atomically: true, encoding: .utf8)
        try #"{"provider":"claude","base_url":"https://x.test","endpoints":{"chat":"/c"}}"#.write(toFile: dir + "/claude.json", atomically: true, encoding: .utf8)
        try "{}".write(toFile: dir + "/template.schema.json", atomically: true, encoding: .utf8)
        let registry = TemplateRegistry(reserved: ["claude"])
        let changed = registry.reload(directory: dir)
        #expect(changed == ["acme"])
        #expect(registry.providerIDs == ["acme"])
        let lines = registry.reports.map(\.line)
        #expect(lines == [
            "loaded   \(dir)/acme.json: template 'acme' (acme)",
            "refused  \(dir)/broken.json: auth.style: unknown auth style 'magic' (expected bearer, header, query or none)",
            "refused  \(dir)/claude.json: provider: 'claude' is served by a plugin",
            "refused  \(dir)/duplicate.json: provider: 'acme' is already defined by \(dir)/acme.json",
        ])
    }

    @Test func aFileThatTurnsBadKeepsItsLastGoodVersion() throws {
        let dir = try FixturePlugins.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.minimal.write(toFile: dir + "/acme.json", atomically: true, encoding: .utf8)
        let registry = TemplateRegistry()
        registry.reload(directory: dir)
        try String(Self.minimal.dropLast(10)).write(toFile: dir + "/acme.json", atomically: true, encoding: .utf8)  // half written
        #expect(registry.reload(directory: dir).isEmpty)
        #expect(registry.template(for: "acme") != nil)
        #expect(registry.reports.first?.line.hasSuffix("(its last good version stays in service)") == true)
        try FileManager.default.removeItem(atPath: dir + "/acme.json")
        #expect(registry.reload(directory: dir) == ["acme"])
        #expect(registry.template(for: "acme") == nil)
    }

    @Test func installValidatesAndAnnouncesChanges() throws {
        let registry = TemplateRegistry(reserved: ["claude"])
        let announced = Announcements()
        registry.onChange { announced.add($0) }
        let template = try registry.install(templateJSON: Array(Self.minimal.utf8))
        #expect(template.provider == "acme" && registry.template(for: "acme")?.source == "admin")
        #expect(throws: TemplateError.self) { try registry.install(templateJSON: Array(#"{"provider":"claude","base_url":"https://x.test","endpoints":{"chat":"/c"}}"#.utf8)) }
        #expect(throws: TemplateError.self) { try registry.install(templateJSON: Array(#"{"provider":"x"}"#.utf8)) }
        _ = try registry.install(templateJSON: Array(Self.minimal.utf8))  // the same again: no change
        #expect(registry.uninstall(provider: "acme"))
        #expect(announced.all == [["acme"], ["acme"]])
    }

    @Test func channelsResolveBaseURLPlaceholdersAuthAndAPIVersion() throws {
        let azure = try AdaptorTemplate.parse(Array(try Data(contentsOf: URL(fileURLWithPath: BuildProducts.packageRoot + "/adaptor-templates/azure.json"))),
                                              source: "azure.json")
        var config = ChannelConfig(name: "az", provider: "azure", models: ["gpt-4o"])
        config.credentials["api_key"] = "azure-key"
        config.options["resource"] = "myres"
        let channel = try TemplateAdaptor(template: azure, apiVersion: "").makeChannel(config)
        #expect(channel.endpoint.description == "https://myres.openai.azure.com")
        #expect(channel.lines.headers.first(name: "api-key") == "azure-key")
        #expect(channel.lines.headers.first(name: "authorization") == nil)
        #expect(channel.path(.chat, model: "gpt-4o") == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21")
        let pinned = try TemplateAdaptor(template: azure, apiVersion: "2025-01-01-preview").makeChannel(config)
        #expect(pinned.path(.embeddings, model: "te 3") == "/openai/deployments/te%203/embeddings?api-version=2025-01-01-preview")

        config.options["resource"] = nil
        #expect(throws: TemplateFieldProblem.self) { try TemplateAdaptor(template: azure, apiVersion: "").makeChannel(config) }
        config.baseURL = "https://other.openai.azure.com"
        config.credentials = [:]
        do {
            _ = try TemplateAdaptor(template: azure, apiVersion: "").makeChannel(config)
            Issue.record("a channel without its key was accepted")
        } catch {
            #expect(error.message == "template 'azure' needs credentials.api_key (sent as header api-key)")
        }

        let query = try AdaptorTemplate.parse(Array(with(#""auth":{"style":"query","name":"key"}"#).utf8), source: "q.json")
        config.credentials["api_key"] = "k&1"
        #expect(try TemplateAdaptor(template: query, apiVersion: "").makeChannel(config).path(.chat, model: "m") == "/chat/completions?key=k%261")
        let optional = try AdaptorTemplate.parse(Array(with(#""auth":{"style":"bearer","required":false}"#).utf8), source: "o.json")
        config.credentials = [:]
        #expect(try TemplateAdaptor(template: optional, apiVersion: "").makeChannel(config).lines.headers.first(name: "authorization") == nil)
    }
}

final class Announcements: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Set<String>] = []
    func add(_ item: Set<String>) { lock.lock(); items.append(item); lock.unlock() }
    var all: [Set<String>] { lock.lock(); defer { lock.unlock() }; return items }
}
