import Foundation
import Testing
@testable import TollgateCore

/// Small things an operator trips on: load balancers probe with HEAD, and a demo key made by an
/// earlier run stops working once `demo_key` is off.
@Suite struct OperatorTests {
    @Test func headProbesAnswer200WithoutABody() async throws {
        let h = try await GatewayHarness.start("")
        defer { Task { await h.stop() } }
        for path in ["/healthz", "/readyz"] {
            let answer = try await h.client.fetch(port: h.port, method: "HEAD", path: path)
            #expect(answer.status == 200 && answer.body.isEmpty, "\(path)")
        }
        #expect(try await h.client.fetch(port: h.port, method: "DELETE", path: "/healthz").status == 405)
    }

    @Test func aStoredDemoKeyIsRemovedWhenDemoKeyIsOff() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-demo-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let chat = #"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#
        let yaml = "channels:\n  - { name: m, provider: mock, models: [mock-echo] }"
        let first = try await GatewayHarness.start("demo_key: on\n" + yaml, dataDirectory: dir)
        let demo = try #require(first.gateway.demoKey)
        #expect(try await first.client.fetch(port: first.port, path: "/v1/chat/completions", key: demo, json: chat).status == 200)
        await first.gateway.stop()
        await first.client.shutdown()

        let second = try await GatewayHarness.start(yaml, dataDirectory: dir)
        defer { Task { await second.stop() } }
        #expect(try await second.client.fetch(port: second.port, path: "/v1/chat/completions", key: demo, json: chat).status == 401)
        #expect(!FileManager.default.fileExists(atPath: dir + "/demo-key"))
        #expect(try await second.chat(chat).status == 200)  // the configured key is untouched
    }
}
