import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Plugins at run time: a `.so` copied into the watched folder of a running gateway serves the
/// channel that waited for it; a replaced file serves new requests while a stream on the old one
/// finishes on the old code; a removed file's channel leaves, and its image is unmapped only
/// once the last request on it ended.
@Suite struct HotPluginTests {
    /// Builds the fixture plugin (provider `hot`) tagged with `version` into `path`, atomically
    /// (written beside, then renamed: a new inode, as a deploy does).
    static func build(version: String, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let scratch = "build-\(UUID().uuidString).tmp"
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: scratch,
                                   defines: [#"PROVIDER_ID="hot""#, #"VERSION="\#(version)""#, "TAG_VERSION"])
        guard rename(dir + "/" + scratch, path) == 0 else { throw FixturePlugins.CompileError(description: "rename failed") }
    }

    /// An upstream answering chat; the model `hold` streams a first event and waits for `release`.
    final class Upstream: Sendable {
        let mock: MockUpstream
        let held = NIOLockedValueBox<MockResponder?>(nil)

        init() async throws {
            let held = self.held
            mock = try await MockUpstream { request, respond in
                if request.json?["model"]?.stringValue == "hot-hold" {
                    held.withLockedValue { $0 = respond }
                    respond.head(200, [("content-type", "text/event-stream")])
                    respond.chunk(#"data: {"choices":[{"index":0,"delta":{"content":"first"}}]}"# + "\n\n")
                    return
                }
                respond.json(200, #"{"id":"h","object":"chat.completion","created":1,"model":"hot-1","choices":[{"index":0,"message":{"role":"assistant","content":"hot"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3}}"#)
            }
        }

        func release() {
            held.withLockedValue { $0 }?.chunk("data: [DONE]\n\n")
            held.withLockedValue { $0 }?.end()
        }
    }

    static let ask = #"{"model":"hot-1","messages":[{"role":"user","content":"hi"}]}"#

    /// Sends until `done` holds for an answer (the watcher polls every second).
    static func sendUntil(_ harness: GatewayHarness, _ done: (TestResponse) -> Bool) async throws -> TestResponse {
        var last = TestResponse(status: 0, headers: [], body: [])
        for _ in 0..<150 {
            last = try await harness.chat(ask)
            if done(last) { return last }
            try await Task.sleep(for: .milliseconds(200))
        }
        return last
    }

    /// Starts a stream on `hot-hold` and reads its head and first event.
    static func openStream(_ harness: GatewayHarness) async throws -> AsyncThrowingStream<TestClient.Part, any Error>.AsyncIterator {
        let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")],
                                                  body: Array(#"{"model":"hot-hold","stream":true}"#.utf8))
        var iterator = parts.makeAsyncIterator()
        guard case .head(200, _)? = try await iterator.next() else { throw FixturePlugins.CompileError(description: "no stream head") }
        return iterator
    }

    static func rest(_ iterator: inout AsyncThrowingStream<TestClient.Part, any Error>.AsyncIterator) async throws -> String {
        var text = ""
        while let part = try await iterator.next() { if case .body(let bytes) = part { text += String(decoding: bytes, as: UTF8.self) } }
        return text
    }

    /// The private copies of `name` mapped in this process (one per loaded version).
    static func mappings(of name: String) -> Set<String> {
        let maps = String(decoding: FileHandle(forReadingAtPath: "/proc/self/maps")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        let marker = "/.\(name).tollgate-"
        return Set(maps.split(separator: "\n").compactMap { line in
            line.range(of: marker).map { String(line[$0.upperBound...].prefix { $0 != " " }) }
        })
    }

    @Test func aPluginCopiedInServesTheWaitingChannelAndAReplacementTakesOverWhileAStreamFinishesOnTheOld() async throws {
        let dir = try FixturePlugins.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let upstream = try await Upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: hot-channel, provider: hot, base_url: "\(upstream.mock.baseURL)/v1", models: ["hot-*"] }
        """, pluginsDirectory: dir)
        defer { Task { await harness.stop(); await upstream.mock.stop() } }

        // The channel waits for its provider.
        #expect(try await harness.chat(Self.ask).status == 404)
        try Self.build(version: "1.0", to: dir + "/libtollgate-hot.so")
        let first = try await Self.sendUntil(harness) { $0.status == 200 }
        #expect(first.status == 200, "\(first.text)")
        #expect(upstream.mock.requests.last?.header("x-fixture-version") == "1.0")
        let report = try #require(harness.gateway.registry.reports.first { $0.path == dir + "/libtollgate-hot.so" })
        #expect(report.status == .loaded(kind: .adaptor, name: "fixture", version: "1.0", providers: ["hot"]))
        #expect(report.line.contains("1.0, providers: hot, at 20"))
        let listed = AdminAPI.plugins(harness.gateway)["plugins"]?[0]
        #expect(listed?["version"]?.stringValue == "1.0" && listed?["loaded_at"]?.stringValue?.hasPrefix("20") == true)

        // A stream on 1.0, then 2.0 replaces the file.
        var stream = try await Self.openStream(harness)
        try Self.build(version: "2.0", to: dir + "/libtollgate-hot.so")
        let second = try await Self.sendUntil(harness) { _ in upstream.mock.requests.last?.header("x-fixture-version") == "2.0" }
        #expect(second.status == 200)
        #expect(Self.mappings(of: "libtollgate-hot.so").count == 2, "both versions are mapped while the old stream runs")

        // The old stream finishes, on the old code.
        upstream.release()
        let tail = try await Self.rest(&stream)
        #expect(tail.contains(": finished by 1.0"), "\(tail)")

        // Nothing holds 1.0 any more: it is unmapped; 2.0 stays.
        var mapped = Self.mappings(of: "libtollgate-hot.so")
        for _ in 0..<150 where mapped.count > 1 {
            try await Task.sleep(for: .milliseconds(100))
            mapped = Self.mappings(of: "libtollgate-hot.so")
        }
        #expect(mapped.count == 1, "\(mapped)")
        #expect(try await harness.chat(Self.ask).status == 200)
    }

    @Test func aRemovedPluginLeavesAfterItsStreamAndABrokenReplacementKeepsTheOld() async throws {
        let dir = try FixturePlugins.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/libtollgate-gone.so"
        try Self.build(version: "1.0", to: path)
        let upstream = try await Upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: hot-channel, provider: hot, base_url: "\(upstream.mock.baseURL)/v1", models: ["hot-*"] }
        """, pluginsDirectory: dir)
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        #expect(try await harness.chat(Self.ask).status == 200)

        // A broken file in its place is refused; 1.0 keeps serving.
        let scratch = dir + "/broken.tmp"
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: scratch))
        #expect(rename(scratch, path) == 0)
        var refused = false
        for _ in 0..<150 where !refused {
            if case .refused(let reason)? = harness.gateway.registry.reports.first(where: { $0.path == path })?.status {
                refused = reason.hasPrefix("cannot be opened: \(path)") && reason.hasSuffix("(the version loaded before stays in service)")
            }
            if !refused { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(refused, "\(harness.gateway.registry.reports.map(\.line))")
        #expect(try await harness.chat(Self.ask).status == 200)
        #expect(upstream.mock.requests.last?.header("x-fixture-version") == "1.0")

        // Removed while a stream runs on it: new requests find no channel, the stream finishes,
        // then the image is unmapped.
        var stream = try await Self.openStream(harness)
        try FileManager.default.removeItem(atPath: path)
        let gone = try await Self.sendUntil(harness) { $0.status == 404 }
        #expect(gone.status == 404)
        #expect(harness.gateway.registry.plugin(at: path) == nil && harness.gateway.registry.reports.allSatisfy { $0.path != path })
        #expect(!Self.mappings(of: "libtollgate-gone.so").isEmpty, "mapped while its stream runs")
        upstream.release()
        #expect(try await Self.rest(&stream).contains(": finished by 1.0"))
        var mapped = Self.mappings(of: "libtollgate-gone.so")
        for _ in 0..<150 where !mapped.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            mapped = Self.mappings(of: "libtollgate-gone.so")
        }
        #expect(mapped.isEmpty, "\(mapped)")
    }

    @Test func theWatcherWaitsForAFileToSettleAndSeesRemovalsAtOnce() throws {
        let dir = try FixturePlugins.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/a.so"))
        let watcher = PluginWatcher(directory: dir, seen: PluginWatcher.signature(dir))
        #expect(watcher.scan().isEmpty)
        try Data("half".utf8).write(to: URL(fileURLWithPath: dir + "/b.so"))
        try Data("hidden".utf8).write(to: URL(fileURLWithPath: dir + "/.b.so.tollgate-1-1"))
        #expect(watcher.scan().isEmpty, "a new file is handed on only once it looked the same twice")
        try Data("half written".utf8).write(to: URL(fileURLWithPath: dir + "/b.so"))
        #expect(watcher.scan().isEmpty, "it grew: wait again")
        #expect(watcher.scan() == [.appeared(dir + "/b.so")])
        #expect(watcher.scan().isEmpty)
        try FileManager.default.removeItem(atPath: dir + "/a.so")
        #expect(watcher.scan() == [.removed(dir + "/a.so")])
    }
}
