import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Config reload on a running gateway: a new channel, key and limit apply at once, a stream in
/// flight on a removed channel finishes, settings read only at start are named, and a broken
/// file is refused with its place while the running config stays.
@Suite struct ConfigReloadTests {
    static let key = "sk-reload-client-key-123"
    static let limitedKey = "sk-reload-limited-key-456"

    static func text(dataDirectory: String, upstream: String, extra: String = "", keys: String = "", channels: String = "") -> String {
        """
        listen: 127.0.0.1:0
        data_dir: \(dataDirectory)
        plugins: { dir: \(dataDirectory)/no-plugins, watch: false }
        pricing: { sync_url: off }
        \(extra)
        keys:
          - { name: tester, key: \(key) }
        \(keys)
        channels:
          - { name: held, provider: openai, base_url: "\(upstream)/v1", models: [held-model] }
        \(channels)
        """
    }

    @Test func aReloadAppliesChannelsKeysAndLimitsAtOnceAndRefusesABrokenFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let held = NIOLockedValueBox<MockResponder?>(nil)
        let upstream = try await MockUpstream { _, respond in
            held.withLockedValue { $0 = respond }
            respond.head(200, [("content-type", "text/event-stream")])
            respond.chunk(#"data: {"choices":[{"index":0,"delta":{"content":"first"}}]}"# + "\n\n")
        }
        let file = dir + "/tollgate.yaml"
        try Self.text(dataDirectory: dir, upstream: upstream.baseURL).write(toFile: file, atomically: true, encoding: .utf8)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let gateway = try await Gateway.make(config: try ConfigLoader.load(file: file), logger: logger)
        let port = try await gateway.start()
        let client = TestClient()
        defer { Task { await client.shutdown(); await gateway.stop(); await upstream.stop() } }
        func chat(_ model: String, key: String = Self.key) async throws -> TestResponse {
            try await client.fetch(port: port, path: "/v1/chat/completions", key: key,
                                   json: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
        }
        #expect(try await chat("second-echo").status == 404)
        #expect(try await chat("mock-echo", key: Self.limitedKey).status == 401)

        // A stream in flight on the channel the new file drops.
        let parts = try await client.send(port: port, path: "/v1/chat/completions", headers: [("authorization", "Bearer \(Self.key)")],
                                          body: Array(#"{"model":"held-model","stream":true}"#.utf8))
        var stream = parts.makeAsyncIterator()
        guard case .head(200, _)? = try await stream.next() else { Issue.record("no stream head"); return }

        let edited = Self.text(dataDirectory: dir, upstream: upstream.baseURL, extra: "shutdown_grace: 3s",
                               keys: "  - { name: limited, key: \(Self.limitedKey), rpm: 1 }",
                               channels: "  - { name: second, provider: mock, models: [second-echo] }")
            .replacingOccurrences(of: "models: [held-model]", with: "models: [other-model]")
        try edited.write(toFile: file, atomically: true, encoding: .utf8)
        let outcome = try await gateway.reload()
        #expect(outcome.needsRestart == ["shutdown_grace"])
        #expect(outcome.applied.contains("channels") && outcome.applied.contains("keys"))

        #expect(try await chat("second-echo").status == 200)
        #expect(try await chat("held-model").status == 404)
        #expect(try await chat("second-echo", key: Self.limitedKey).status == 200)
        #expect(try await chat("second-echo", key: Self.limitedKey).status == 429, "the new key's rpm: 1 is in force")

        held.withLockedValue { $0 }?.chunk("data: [DONE]\n\n")
        held.withLockedValue { $0 }?.end()
        var rest = ""
        while let part = try await stream.next() { if case .body(let bytes) = part { rest += String(decoding: bytes, as: UTF8.self) } }
        #expect(rest.hasSuffix("data: [DONE]\n\n"), "the stream finished on the channel it started on")

        // Broken: refused with file:line:column and key; everything stays as it was.
        try (edited + "\nthreads: many\n").write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try await gateway.reload()
            Issue.record("a broken file was applied")
        } catch let error as ConfigError {
            #expect(error.description.hasPrefix("\(file):"))
            #expect(error.key == "threads" && error.line != nil && error.column != nil, "\(error)")
        }
        #expect(try await chat("second-echo").status == 200)
        #expect(try await chat("second-echo", key: Self.limitedKey).status == 429, "its counters carried over")
        try Self.text(dataDirectory: dir, upstream: upstream.baseURL, channels: "  - { name: c, provider: nonesuch, models: [a] }")
            .write(toFile: file, atomically: true, encoding: .utf8)
        await #expect(throws: ConfigError.self) { try await gateway.reload() }
        #expect(try await chat("second-echo").status == 200, "a channel on a missing provider refuses the whole file")
    }
}
