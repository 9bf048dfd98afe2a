import Foundation
import Testing
@testable import TollgateCore

/// No client text decides routing: the deprecation detector acts only on the provider's
/// structured signal naming the channel's own model; a successor is proposed for an operator to
/// accept unless `health.auto_switch` is on; a 4xx the request caused never hurts health.
@Suite struct DeprecationTrustTests {
    static let adminKey = "admin-secret-for-successors"

    /// An OpenAI-compatible upstream that, as OpenAI does, names unknown arguments in its 400.
    static func echoingUpstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let known: Set<String> = ["model", "messages", "stream", "max_tokens", "temperature"]
            if case .object(let members)? = request.json, let unknown = members.first(where: { !known.contains($0.key) }) {
                let message = "Unrecognized request argument supplied: \(unknown.key)"
                let body = JSONValue.object(["error": .object([
                    "message": .string(message), "type": .string("invalid_request_error"), "param": .null, "code": .null,
                ])])
                respond.json(400, String(decoding: body.serialized(), as: UTF8.self))
            } else {
                ScriptedUpstream.answerOK(request, respond)
            }
        }
    }

    @Test func aHostileClientCannotRerouteAModel() async throws {
        let upstream = try await Self.echoingUpstream()
        let harness = try await GatewayHarness.start("""
        health: { probes: false, breaker_failures: 1, auto_switch: true }
        channels:
          - { name: main, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o, gpt-bogus-9] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let hostile = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"this model is deprecated, use gpt-bogus-9 instead":1}"#
        for _ in 0..<3 {
            let answer = try await harness.chat(hostile)
            #expect(answer.status == 400)
            #expect(answer.text.contains("this model is deprecated, use gpt-bogus-9 instead"))
        }
        // The channel and the model are untouched: no switch, no proposal, no failure, breakers closed.
        let health = harness.health("main", "gpt-4o")
        #expect(health?["replaced_by"] == nil && health?["proposed_successor"] == nil && health?["deprecation"] == nil)
        #expect(health?["status"]?.stringValue == "Available" && health?["failures"]?.int64Value == 0)
        #expect(harness.breaker("main", "gpt-4o") == "closed" && harness.channelBreaker("main") == "closed")
        let normal = try await harness.chat(#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(normal.status == 200)
        #expect(upstream.requests.last?.json?["model"]?.stringValue == "gpt-4o")
        #expect(try await harness.gateway.storage.channelOverrides().isEmpty)
    }

    @Test func aSuccessorIsProposedAndAnOperatorAcceptsIt() async throws {
        let upstream = try await MockUpstream { request, respond in
            if request.json?["model"]?.stringValue == "old-model" {
                respond.json(404, #"{"error":{"message":"The model `old-model` has been deprecated, please use 'new-model' instead.","type":"invalid_request_error","code":"model_not_found"}}"#)
            } else {
                ScriptedUpstream.answerOK(request, respond)
            }
        }
        let harness = try await GatewayHarness.start("""
        admin_key: \(Self.adminKey)
        health: { probes: false, breaker_cooldown: 1h }
        channels:
          - { name: main, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [old-model, new-model] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(try await harness.chat(#"{"model":"old-model","messages":[]}"#).status == 404)
        #expect(harness.health("main", "old-model")?["proposed_successor"]?.stringValue == "new-model")
        #expect(harness.health("main", "old-model")?["replaced_by"] == nil)
        #expect(try await harness.gateway.storage.channelOverrides().isEmpty)

        // Malformed and wrong accepts are refused and change nothing.
        #expect(try await accept(harness, "main", body: "{not json").status == 400)
        #expect(try await accept(harness, "main", body: #"{"model":42}"#).status == 400)
        #expect(try await accept(harness, "main", body: #"{"model":"other"}"#).status == 404)
        #expect(try await accept(harness, "nowhere", body: "").status == 404)
        #expect(try await accept(harness, "main", body: "", key: "wrong").status == 401)

        let accepted = try await accept(harness, "main", body: "")
        #expect(accepted.status == 200)
        #expect(accepted.json?["successor"]?.stringValue == "new-model" && accepted.json?["model"]?.stringValue == "old-model")
        #expect(harness.health("main", "old-model")?["replaced_by"]?.stringValue == "new-model")
        #expect(try await accept(harness, "main", body: "").status == 404)  // nothing left to accept
        let stored = await GatewayHarness.eventually { (try? await harness.gateway.storage.channelOverrides())?.first?.value == "new-model" }
        #expect(stored)
        // The model's breaker opened on the 404; the successor serves the old name now.
        harness.gateway.runtime.health.health(for: "main").withState { $0.models["old-model"]?.breaker = CircuitBreaker() }
        #expect(try await harness.chat(#"{"model":"old-model","messages":[]}"#).status == 200)
        #expect(upstream.requests.last?.json?["model"]?.stringValue == "new-model")
    }

    @Test func autoSwitchOnlyMovesToAKnownSuccessor() async throws {
        let upstream = try await MockUpstream { request, respond in
            respond.json(404, #"{"error":{"message":"The model `old-model` has been deprecated, use 'unheard-of-9' instead.","code":"model_not_found"}}"#)
        }
        let harness = try await GatewayHarness.start("""
        health: { probes: false, auto_switch: true }
        channels:
          - { name: main, provider: openai, base_url: "\(upstream.baseURL)/v1", models: ["old-*"] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(try await harness.chat(#"{"model":"old-model","messages":[]}"#).status == 404)
        // Neither listed by the channel nor in the price book: proposed, not applied.
        #expect(harness.health("main", "old-model")?["proposed_successor"]?.stringValue == "unheard-of-9")
        #expect(harness.health("main", "old-model")?["replaced_by"] == nil)
    }

    @Test func requestErrorsNeverOpenABreaker() async throws {
        let upstream = try await ScriptedUpstream.start(.status(400, [], #"{"error":{"message":"bad","type":"invalid_request_error"}}"#))
        let harness = try await ChannelStateTests.gateway(upstream, health: "probes: false, breaker_failures: 1")
        defer { Task { await harness.stop(); await upstream.stop() } }
        for status in [400, 413, 422, 400] {
            upstream.next(.status(status, [], #"{"error":{"message":"no","type":"invalid_request_error"}}"#))
            #expect(try await harness.chat(GatewayHarness.hello).status == status)
        }
        #expect(harness.breaker("main", "m") == "closed" && harness.channelBreaker("main") == "closed")
        #expect(harness.status("main", "m") == "Available" && harness.health("main", "m")?["failures"]?.int64Value == 0)
        upstream.set(.ok)
        #expect(try await harness.chat(GatewayHarness.hello).status == 200)
    }

    private func accept(_ harness: GatewayHarness, _ channel: String, body: String, key: String = adminKey) async throws -> TestResponse {
        try await harness.client.fetch(port: harness.port, path: "/admin/channels/\(channel)/accept-successor",
                                       headers: [("authorization", "Bearer \(key)")], body: Array(body.utf8))
    }
}
