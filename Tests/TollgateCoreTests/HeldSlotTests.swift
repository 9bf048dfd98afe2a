import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Held slots are released on every path: a client that leaves while its request waits on a
/// plugin's blocking build (Vertex's token exchange) gives back its key concurrency slot, the
/// model's adaptive slot and its in-flight count, and nothing goes upstream for it.
@Suite struct HeldSlotTests {
    static let limitedKey = "sk-limited-client-key-0123"

    @Test func twentyClientsLeavingWhileTheirBuildWaitsHoldNothing() async throws {
        // The token endpoint holds its answer until the test lets it go.
        let held = NIOLockedValueBox<[MockResponder]>([])
        let upstream = try await MockUpstream { request, respond in
            if request.uri == "/token" { return held.withLockedValue { $0.append(respond) } }
            respond.json(200, """
            {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}],
             "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4}}
            """)
        }
        let key = VertexKeys.keyFile(tokenURI: upstream.baseURL + "/token")
        let harness = try await GatewayHarness.start("""
        health: { probes: false, adaptive_start: 20 }
        channels:
          - name: vertex
            provider: vertex
            base_url: "\(upstream.baseURL)"
            credentials: { service_account_json: '\(key)' }
            options: { location: us-east5 }
            models: [gemini-2.5-flash]
        """, pluginsDirectory: BuildProducts.directory, extraKeys: "  - { name: limited, key: \(Self.limitedKey), concurrency: 20 }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        let body = Array(#"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}"#.utf8)
        let headers = [("authorization", "Bearer \(Self.limitedKey)"), ("content-type", "application/json")]

        // 20 requests wait on the token exchange; then their clients hang up.
        var waiting: [Task<Void, any Error>] = []
        for _ in 0..<20 {
            let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions", headers: headers, body: body)
            waiting.append(Task { for try await _ in parts {} })
        }
        let allWaiting = await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 20 && !held.withLockedValue { $0 }.isEmpty }
        #expect(allWaiting, "in flight: \(harness.gateway.runtime.inFlight), exchanges held: \(held.withLockedValue { $0 }.count), upstream saw: \(upstream.requests.map(\.uri))")
        waiting.forEach { $0.cancel() }  // each cancelled stream closes its connection
        let allGone = await GatewayHarness.eventually { harness.gateway.runtime.clientHangUps == 20 }
        #expect(allGone)

        // The exchange completes; the builds finish for clients that are gone.
        let token = #"{"access_token":"\#(VertexUpstreamTests.token)","expires_in":3599,"token_type":"Bearer"}"#
        held.withLockedValue { $0 }.forEach { $0.json(200, token) }
        let released = await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 0 }
        #expect(released)
        let limiter = try #require(harness.gateway.runtime.snapshot.keys.keys.first { $0.name == "limited" }?.limiter)
        #expect(limiter.usage().inFlight == 0)
        #expect((harness.health("vertex", "gemini-2.5-flash")?["adaptive_limit"]?["in_flight"]?.int64Value ?? 0) == 0)
        #expect(upstream.requests.filter { $0.uri != "/token" }.isEmpty)  // nothing was sent for them
        let records = await GatewayHarness.eventually { harness.records.all.filter { $0.status == 499 }.count == 20 }
        #expect(records)

        // A normal request is served.
        let answer = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", headers: headers, body: body)
        #expect(answer.status == 200)
        let settled = await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 0 && limiter.usage().inFlight == 0 }
        #expect(settled)
    }
}
