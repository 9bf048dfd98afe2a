import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Held slots are released on every path: a client that leaves while its request waits on a
/// plugin's blocking build (as Vertex's token exchange blocks) gives back its key concurrency
/// slot, the model's adaptive slot and its in-flight count, and nothing goes upstream for it.
@Suite struct HeldSlotTests {
    static let limitedKey = "sk-limited-client-key-0123"

    @Test func twentyClientsLeavingWhileTheirBuildWaitsHoldNothing() async throws {
        // A fixture plugin of its own (no state shared with other tests) whose build blocks until
        // the `release` file exists.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-held-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/plugins", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let release = dir + "/release"
        try FixturePlugins.compile("minimal_adaptor.c", to: dir + "/plugins", as: "blocking.so",
                                   defines: [#"PROVIDER_ID="blocking""#, #"BLOCK_UNTIL_FILE="\#(release)""#])
        let upstream = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false, adaptive_start: 20 }
        channels:
          - { name: slow, provider: blocking, base_url: "\(upstream.baseURL)/v1", models: [m] }
        """, pluginsDirectory: dir + "/plugins", extraKeys: "  - { name: limited, key: \(Self.limitedKey), concurrency: 20 }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        let body = Array(GatewayHarness.hello.utf8)
        let headers = [("authorization", "Bearer \(Self.limitedKey)"), ("content-type", "application/json")]

        // 20 requests wait in the blocking build; then their clients hang up.
        var waiting: [Task<Void, any Error>] = []
        for _ in 0..<20 {
            let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions", headers: headers, body: body)
            waiting.append(Task { for try await _ in parts {} })
        }
        let allWaiting = await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 20 }
        #expect(allWaiting, "in flight: \(harness.gateway.runtime.inFlight)")
        waiting.forEach { $0.cancel() }  // each cancelled stream closes its connection
        let allGone = await GatewayHarness.eventually { harness.gateway.runtime.clientHangUps == 20 }
        #expect(allGone)

        // The builds finish for clients that are gone.
        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        let released = await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 0 }
        #expect(released)
        let limiter = try #require(harness.gateway.runtime.snapshot.keys.keys.first { $0.name == "limited" }?.limiter)
        #expect(limiter.usage().inFlight == 0)
        #expect((harness.health("slow", "m")?["adaptive_limit"]?["in_flight"]?.int64Value ?? 0) == 0)
        #expect(upstream.served == 0)  // nothing was sent for them
        let records = await GatewayHarness.eventually { harness.records.all.filter { $0.status == 499 }.count == 20 }
        #expect(records)

        // A normal request is served.
        let answer = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", headers: headers, body: body)
        #expect(answer.status == 200)
        let settled = await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 0 && limiter.usage().inFlight == 0 }
        #expect(settled)
        #expect(upstream.served == 1)
    }
}
