import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Templates at run time: a provider added by writing a file into the watched folder of a
/// running gateway, a changed file rebuilding its channels (requests in flight unharmed), a
/// broken edit keeping the last good version, and the install API.
@Suite struct TemplateReloadTests {
    static func template(header: String, extra: String = "") -> String {
        #"{"provider":"acme","name":"Acme AI","base_url":"https://api.acme.test/v1","endpoints":{"chat":"/chat/completions"},"auth":{"style":"header","name":"\#(header)"}\#(extra)}"#
    }

    /// Sends until the answer's status is `status` (the watcher polls every 2 s).
    static func waitForStatus(_ status: Int, _ harness: GatewayHarness, model: String = "acme-1") async throws -> TestResponse {
        var last = TestResponse(status: 0, headers: [], body: [])
        for _ in 0..<60 {
            last = try await harness.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
            if last.status == status { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }

    @Test func aTemplateWrittenIntoTheWatchedFolderServesWithoutRestart() async throws {
        let dir = try FixturePlugins.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let held = NIOLockedValueBox<MockResponder?>(nil)
        let upstream = try await MockUpstream { request, respond in
            if request.json?["model"]?.stringValue == "acme-slow" {
                held.withLockedValue { $0 = respond }
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk(#"data: {"choices":[{"index":0,"delta":{"content":"first"}}]}"# + "\n\n")
                return
            }
            respond.json(200, #"{"id":"a","object":"chat.completion","created":1,"model":"acme-1","choices":[{"index":0,"message":{"role":"assistant","content":"from acme"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#)
        }
        let harness = try await GatewayHarness.start("""
        templates: { dir: "\(dir)" }
        channels:
          - { name: acme-channel, provider: acme, base_url: "\(upstream.baseURL)/v1", credentials: { api_key: acme-secret }, models: ["acme-*"] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }

        // The channel waits for its provider: nothing serves the model yet.
        let before = try await harness.chat(#"{"model":"acme-1","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(before.status == 404)

        try Self.template(header: "x-acme-key").write(toFile: dir + "/acme.json", atomically: true, encoding: .utf8)
        let added = try await Self.waitForStatus(200, harness)
        #expect(added.status == 200, "\(added.text)")
        #expect(added.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "from acme")
        #expect(upstream.requests.last?.uri == "/v1/chat/completions")
        #expect(upstream.requests.last?.header("x-acme-key") == "acme-secret")
        let record = await harness.records.waitFor(added.header("x-request-id"))
        #expect(record?.usage.prompt == 3 && record?.channel == "acme-channel")
        #expect(harness.gateway.factory.cachedKeys.contains(.init(providerID: "acme", apiVersion: "")))
        #expect(harness.gateway.templates.reports.map(\.line) == ["loaded   \(dir)/acme.json: template 'acme' (Acme AI)"])

        // A stream in flight on the old channel while the template changes.
        let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")],
                                                  body: Array(#"{"model":"acme-slow","stream":true,"stream_options":{"include_usage":true}}"#.utf8))
        var iterator = parts.makeAsyncIterator()
        guard case .head(200, _)? = try await iterator.next() else { Issue.record("no stream head"); return }

        let created = harness.gateway.factory.creationCount
        try Self.template(header: "x-acme-token", extra: #","headers":{"x-acme-region":"eu"}"#)
            .write(toFile: dir + "/acme.json", atomically: true, encoding: .utf8)
        var changed = false
        for _ in 0..<60 where !changed {
            _ = try await harness.chat(#"{"model":"acme-1","messages":[{"role":"user","content":"hi"}]}"#)
            changed = upstream.requests.last?.header("x-acme-token") == "acme-secret"
            if !changed { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(changed)
        #expect(upstream.requests.last?.header("x-acme-key") == nil && upstream.requests.last?.header("x-acme-region") == "eu")
        #expect(harness.gateway.factory.creationCount == created + 1)

        // The old stream finishes normally.
        held.withLockedValue { $0 }?.chunk(#"data: {"choices":[{"index":0,"delta":{"content":" second"}}]}"# + "\n\ndata: [DONE]\n\n")
        held.withLockedValue { $0 }?.end()
        var rest = ""
        while let part = try await iterator.next() { if case .body(let bytes) = part { rest += String(decoding: bytes, as: UTF8.self) } }
        #expect(rest.contains("second") && rest.hasSuffix("data: [DONE]\n\n"))

        // A broken edit: refused with its field named, the last good version keeps serving.
        try Self.template(header: "x").replacingOccurrences(of: "\"header\"", with: "\"cookie\"")
            .write(toFile: dir + "/acme.json", atomically: true, encoding: .utf8)
        var refused = false
        for _ in 0..<60 where !refused {
            refused = harness.gateway.templates.reports.first?.line.contains("auth.style: unknown auth style 'cookie'") == true
            if !refused { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(refused)
        let still = try await harness.chat(#"{"model":"acme-1","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(still.status == 200)

        // Removed: its channel waits again.
        try FileManager.default.removeItem(atPath: dir + "/acme.json")
        let gone = try await Self.waitForStatus(404, harness)
        #expect(gone.status == 404)
    }

    @Test func installedTemplatesServeAtOnce() async throws {
        let upstream = try await TemplateSupport.openAICompatibleMock()
        let harness = try await GatewayHarness.start("""
        templates: { dir: "\(BuildProducts.packageRoot)/no-such-templates-dir" }
        channels:
          - { name: beta-channel, provider: beta, base_url: "\(upstream.baseURL)", credentials: { api_key: b-key }, models: [beta-1] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(try await harness.chat(#"{"model":"beta-1","messages":[]}"#).status == 404)
        try harness.gateway.templates.install(templateJSON: Array(
            #"{"provider":"beta","base_url":"https://beta.test","endpoints":{"chat":"/api/chat"},"auth":{"style":"query","name":"key"}}"#.utf8))
        let response = try await harness.chat(#"{"model":"beta-1","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(upstream.requests.last?.uri == "/api/chat?key=b-key")
    }
}
