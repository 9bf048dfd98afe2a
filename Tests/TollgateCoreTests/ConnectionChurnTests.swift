import Testing
@testable import TollgateCore

/// Many fresh connections at once, as a loaded machine or a busy client opens them: every one
/// gets its answer (none is closed before its request is written).
@Suite struct ConnectionChurnTests {
    @Test func everyFreshConnectionOfABurstIsServed() async throws {
        let h = try await GatewayHarness.start("channels:\n  - { name: m, provider: mock, models: [mock-echo] }")
        defer { Task { await h.stop() } }
        let total = 600, width = 48
        var served = 0
        var failures: [String] = []
        try await withThrowingTaskGroup(of: Result<Int, any Error>.self) { group in
            var started = 0
            func launch() {
                started += 1
                group.addTask {
                    do { return .success(try await h.chat(#"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#).status) } catch { return .failure(error) }
                }
            }
            while started < width { launch() }
            for try await result in group {
                switch result {
                case .success(200): served += 1
                case .success(let status): failures.append("status \(status)")
                case .failure(let error): failures.append("\(error)")
                }
                if started < total { launch() }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failed: \(Set(failures))")
        #expect(served == total)
    }
}
