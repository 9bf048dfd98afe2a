import Foundation
import Testing
@testable import TollgateCore

/// Every shipped OpenAI-compatible template through the real gateway, against a mock speaking
/// that provider's documented wire format: the URL path, the auth header, extra headers, the body
/// passed through byte for byte, and the answer and usage metered into the request record.
@Suite struct TemplateUpstreamTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var provider: String
        /// The template's default base URL (the provider's documented API root).
        var baseURL: String
        var chatPath: String
        var embeddingsPath: String?
        /// The gateway asks for usage with `stream_options.include_usage`; else the provider always sends it.
        var injectsUsage = true
        var headers: [(String, String)] = []
        var testDescription: String { provider }
    }

    static let cases: [Case] = [
        Case(provider: "deepseek", baseURL: "https://api.deepseek.com", chatPath: "/chat/completions"),
        Case(provider: "groq", baseURL: "https://api.groq.com/openai/v1", chatPath: "/openai/v1/chat/completions"),
        Case(provider: "mistral", baseURL: "https://api.mistral.ai/v1", chatPath: "/v1/chat/completions",
             embeddingsPath: "/v1/embeddings", injectsUsage: false),
        Case(provider: "openrouter", baseURL: "https://openrouter.ai/api/v1", chatPath: "/api/v1/chat/completions",
             headers: [("X-Title", "Tollgate")]),
        Case(provider: "together", baseURL: "https://api.together.xyz/v1", chatPath: "/v1/chat/completions",
             embeddingsPath: "/v1/embeddings", injectsUsage: false),
        Case(provider: "fireworks", baseURL: "https://api.fireworks.ai/inference/v1", chatPath: "/inference/v1/chat/completions",
             embeddingsPath: "/inference/v1/embeddings", injectsUsage: false),
        Case(provider: "xai", baseURL: "https://api.x.ai/v1", chatPath: "/v1/chat/completions"),
        Case(provider: "moonshot", baseURL: "https://api.moonshot.ai/v1", chatPath: "/v1/chat/completions"),
        Case(provider: "dashscope", baseURL: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
             chatPath: "/compatible-mode/v1/chat/completions", embeddingsPath: "/compatible-mode/v1/embeddings"),
        Case(provider: "ollama", baseURL: "http://127.0.0.1:11434/v1", chatPath: "/v1/chat/completions", embeddingsPath: "/v1/embeddings"),
        Case(provider: "vllm", baseURL: "http://127.0.0.1:8000/v1", chatPath: "/v1/chat/completions", embeddingsPath: "/v1/embeddings"),
    ]

    static func start(_ upstream: MockUpstream, provider: String, basePath: String, extra: String = "") async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        templates: { dir: "\(TemplateSupport.shippedDirectory)" }
        channels:
          - name: \(provider)-channel
            provider: \(provider)
            base_url: "\(upstream.baseURL)\(basePath)"
            credentials: { api_key: "sk-\(provider)-channel-key" }
            models: [chat-model, embed-model]
        \(extra)
        """)
    }

    @Test(arguments: cases) func passesChatStreamsAndEmbeddingsThrough(_ test: Case) async throws {
        let template = try #require(try? AdaptorTemplate.parse(
            Array(Data(contentsOf: URL(fileURLWithPath: "\(TemplateSupport.shippedDirectory)/\(test.provider).json"))), source: test.provider))
        #expect(template.baseURL == test.baseURL)
        #expect(template.passesBodiesThrough)
        let basePath = UpstreamEndpoint.parse(test.baseURL)?.path ?? "/"
        let upstream = try await TemplateSupport.openAICompatibleMock(alwaysUsage: !test.injectsUsage)
        let harness = try await Self.start(upstream, provider: test.provider, basePath: basePath == "/" ? "" : basePath)
        defer { Task { await harness.stop(); await upstream.stop() } }

        // A complete answer: the body reaches the provider byte for byte.
        let body = #"{"model":"chat-model", "messages":[{"role":"user","content":"hi"}],"temperature":0.3}"#
        let response = try await harness.chat(body)
        #expect(response.status == 200, "\(response.text)")
        #expect(response.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "Hello there")
        #expect(response.header("x-tollgate-channel") == "\(test.provider)-channel")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == test.chatPath)
        #expect(sent.header("authorization") == "Bearer sk-\(test.provider)-channel-key")
        #expect(sent.body == Array(body.utf8))
        for (name, value) in test.headers { #expect(sent.header(name) == value) }
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 11 && record?.usage.completion == 2)

        // A stream whose client did not ask for usage: metered all the same, usage chunk kept from it.
        let stream = try await harness.chat(#"{"model":"chat-model","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(stream.status == 200)
        #expect(try TemplateSupport.streamedText(stream.body) == "Hello there")
        #expect(try TemplateSupport.events(stream.body).last == "[DONE]")
        #expect(!stream.text.contains(#""choices":[]"#))
        let streamed = try #require(upstream.requests.last)
        #expect(streamed.json?["stream_options"]?["include_usage"]?.boolValue == (test.injectsUsage ? true : nil))
        let streamRecord = await harness.records.waitFor(stream.header("x-request-id"))
        #expect(streamRecord?.usage.prompt == 11 && streamRecord?.usage.completion == 2)

        if let embeddingsPath = test.embeddingsPath {
            let embeddings = try await harness.chat(#"{"model":"embed-model","input":"hi"}"#, path: "/v1/embeddings")
            #expect(embeddings.status == 200, "\(embeddings.text)")
            #expect(upstream.requests.last?.uri == embeddingsPath)
            let embedRecord = await harness.records.waitFor(embeddings.header("x-request-id"))
            #expect(embedRecord?.usage.prompt == 4)
        } else {
            let refused = try await harness.chat(#"{"model":"embed-model","input":"hi"}"#, path: "/v1/embeddings")
            #expect(refused.status == 400)
            #expect(refused.json?["error"]?["message"]?.stringValue == "provider '\(test.provider)' (template) has no embeddings endpoint")
        }
    }

    @Test func azureUsesDeploymentURLsAndTheAPIKeyHeader() async throws {
        let upstream = try await TemplateSupport.openAICompatibleMock()
        let harness = try await GatewayHarness.start("""
        templates: { dir: "\(TemplateSupport.shippedDirectory)" }
        channels:
          - name: azure-east
            provider: azure
            base_url: "\(upstream.baseURL)"
            credentials: { api_key: "azure-channel-key" }
            models: [gpt-4o, text-embedding-3-small]
            model_map: { gpt: gpt-4o-prod }
          - name: azure-pinned
            provider: azure
            base_url: "\(upstream.baseURL)"
            api_version: 2025-01-01-preview
            credentials: { api_key: "azure-channel-key" }
            options: { deployment: my-mini }
            models: [mini]
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await harness.chat(#"{"model":"gpt","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21")
        #expect(sent.header("api-key") == "azure-channel-key")
        #expect(sent.header("authorization") == nil)
        #expect(sent.json?["model"]?.stringValue == "gpt-4o-prod")
        let record = await harness.records.waitFor(response.header("x-request-id"))
        #expect(record?.usage.prompt == 11 && record?.usage.completion == 2 && record?.channel == "azure-east")

        let stream = try await harness.chat(#"{"model":"mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(try TemplateSupport.streamedText(stream.body) == "Hello there")
        #expect(upstream.requests.last?.uri == "/openai/deployments/my-mini/chat/completions?api-version=2025-01-01-preview")
        #expect(upstream.requests.last?.json?["stream_options"]?["include_usage"]?.boolValue == true)
        let streamRecord = await harness.records.waitFor(stream.header("x-request-id"))
        #expect(streamRecord?.usage.completion == 2)

        let embeddings = try await harness.chat(#"{"model":"text-embedding-3-small","input":["a"]}"#, path: "/v1/embeddings")
        #expect(embeddings.status == 200)
        #expect(upstream.requests.last?.uri == "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21")
    }

    @Test func aChannelMissingWhatItsTemplateNeedsIsAConfigError() async throws {
        do {
            _ = try await GatewayHarness.start("""
            templates: { dir: "\(TemplateSupport.shippedDirectory)" }
            channels:
              - { name: az, provider: azure, credentials: { api_key: k }, models: [gpt-4o] }
            """)
            Issue.record("a channel without its base URL's resource started")
        } catch let error as ConfigError {
            #expect("\(error)".contains("template 'azure' builds its base URL from {resource}: set options.resource or the channel's base_url"))
        }
    }
}
