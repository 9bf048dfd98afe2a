import Testing
@testable import TollgateCore

/// `openai` channels whose base URL is Azure OpenAI's are called on deployment URLs with
/// `api-key` auth and an `api-version`.
@Suite struct AzureDetectionTests {
    @Test func recognisesAzureURLs() {
        let full = AzureOpenAI.detect(host: "my-res.openai.azure.com", path: "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01")
        #expect(full == AzureOpenAI(prefix: "", deployment: "gpt4o-prod", apiVersion: "2024-06-01", v1: false))
        #expect(full?.path(chat: true, model: "gpt-4o", apiVersion: nil) == "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01")
        let bare = AzureOpenAI.detect(host: "my-res.openai.azure.com", path: "/")
        #expect(bare?.path(chat: false, model: "text-embedding-3-small", apiVersion: nil)
                == "/openai/deployments/text-embedding-3-small/embeddings?api-version=\(AzureOpenAI.defaultAPIVersion)")
        #expect(bare?.path(chat: true, model: "m", apiVersion: "2025-01-01") == "/openai/deployments/m/chat/completions?api-version=2025-01-01")
        let v1 = AzureOpenAI.detect(host: "x.cognitiveservices.azure.com", path: "/openai/v1")
        #expect(v1?.path(chat: true, model: "m", apiVersion: nil) == "/openai/v1/chat/completions")
        #expect(AzureOpenAI.detect(host: "api.openai.com", path: "/v1") == nil)
    }

    @Test func anAzureChannelIsCalledTheAzureWay() async throws {
        let upstream = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - name: azure
            provider: openai
            base_url: "\(upstream.baseURL)/openai/deployments/prod-4o?api-version=2024-06-01"
            credentials: { api_key: azure-secret }
            models: [gpt-4o]
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let response = try await harness.chat(#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200)
        let sent = upstream.mock.requests.first
        #expect(sent?.uri == "/openai/deployments/prod-4o/chat/completions?api-version=2024-06-01")
        #expect(sent?.header("api-key") == "azure-secret" && sent?.header("authorization") == nil)
    }

    @Test func aDeprecatedAPIVersionIsSwitched() async throws {
        let upstream = try await MockUpstream { request, respond in
            if request.uri.contains("api-version=2023-05-15") {
                respond.json(400, #"{"error":{"code":"DeprecatedApiVersion","message":"API version 2023-05-15 is deprecated; use version '2024-10-21'."}}"#)
            } else {
                ScriptedUpstream.answerOK(request, respond)
            }
        }
        let harness = try await GatewayHarness.start("""
        health: { probes: false, auto_switch: true }
        channels:
          - { name: azure, provider: openai, base_url: "\(upstream.baseURL)/openai/deployments/d?api-version=2023-05-15", models: [gpt-4o] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 400)
        #expect(harness.channelHealth("azure")?["api_version"]?.stringValue == "2024-10-21")
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).status == 200)
        #expect(upstream.requests.last?.uri == "/openai/deployments/d/chat/completions?api-version=2024-10-21")
        let stored = await GatewayHarness.eventually { (try? await harness.gateway.storage.channelOverrides())?.first?.value == "2024-10-21" }
        #expect(stored)
    }
}
