import Foundation
import Testing
@testable import TollgateCore

/// Rate limits shared by instances: the limiter's arithmetic with other instances' counts, the
/// PostgreSQL windows, and two gateways on one database holding one key to its `rpm`.
@Suite struct SharedLimitTests {
    static let minute = unixSeconds() / 60

    @Test func othersCountsFromTheLastSyncAreAddedToOwnCounts() {
        let limiter = KeyLimiter(keyName: "k", limits: KeyLimits(rpm: 10))
        var totals = SharedLimitTotals()
        totals.requests = 8
        limiter.applyShared(totals, minute: unixSeconds() / 60)
        var leases: [KeyLease] = []
        for _ in 0..<2 { if case .success(let lease) = limiter.admit(estimatedTokens: 1) { leases.append(lease) } }
        #expect(leases.count == 2)
        guard case .failure(let refusal) = limiter.admit(estimatedTokens: 1) else { Issue.record("admitted past 8 + 2 of 10"); return }
        #expect(refusal.status == 429)

        // The two are reported at the next sync; what comes back with them is not counted twice.
        let (counts, inFlight) = limiter.takePending()
        #expect(counts.values.reduce(0) { $0 + $1.requests } == 2 && inFlight == 2)
        totals.requests = 10
        limiter.applyShared(totals, minute: unixSeconds() / 60)
        #expect(limiter.usage().requests == 2)
        guard case .failure = limiter.admit(estimatedTokens: 1) else { Issue.record("admitted past 10 of 10"); return }
    }

    @Test func othersRequestsInFlightCountAgainstConcurrency() {
        let limiter = KeyLimiter(keyName: "k", limits: KeyLimits(concurrency: 3))
        var totals = SharedLimitTotals()
        totals.othersInFlight = 2
        limiter.applyShared(totals, minute: Self.minute)
        guard case .success(let lease) = limiter.admit(estimatedTokens: 1) else { Issue.record("refused below the limit"); return }
        guard case .failure = limiter.admit(estimatedTokens: 1) else { Issue.record("admitted a fourth in flight"); return }
        lease.finish(usage: TokenUsage())
        guard case .success = limiter.admit(estimatedTokens: 1) else { Issue.record("refused after one finished"); return }
    }

    @Test func aFailedSyncSendsItsCountsAgainAndAloneOnlyTwoMinutesAreKept() {
        let limiter = KeyLimiter(keyName: "k", limits: KeyLimits(rpm: 100))
        for _ in 0..<3 { _ = limiter.admit(estimatedTokens: 1) }
        let (counts, _) = limiter.takePending()
        #expect(limiter.takePending().counts.isEmpty)
        limiter.restore(counts)
        #expect(limiter.takePending().counts == counts)
    }

    @Test func sharedEstimatesDecayAcrossMinutesLikeTheLocalWindow() {
        let others = KeyLimiter.OtherInstances(minute: 100, current: .init(requests: 6, tokens: 60), previous: .init(requests: 10, tokens: 0))
        #expect(others.count(\.requests, nowMillis: 100 * 60_000) == 16)
        #expect(others.count(\.requests, nowMillis: 100 * 60_000 + 30_000) == 11)
        #expect(others.count(\.requests, nowMillis: 101 * 60_000 + 30_000) == 3, "this minute's 6 become the decaying previous")
        #expect(others.count(\.tokens, nowMillis: 103 * 60_000) == 0, "stale: nothing")
    }

    @Test(.enabled(if: TestDatabases.postgresURL != nil, "needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)"))
    func postgresSumsEveryInstancesWindowsAndTheOthersInFlight() async throws {
        let storage = try await PostgresStorage.open(url: try await TestDatabases.freshURL("postgres"), logger: .init(label: "test"))
        defer { Task { try? await storage.close() } }
        let m = Self.minute
        let at = m * 60_000
        let a = SharedLimitReport(instance: "a", minute: m, at: at, deltas: [.init(key: "k", minute: m, requests: 3, tokens: 30),
                                                                     .init(key: "k", minute: m - 1, requests: 5, tokens: 0)],
                                  inFlight: ["k": 2])
        _ = try await storage.syncLimits(a)
        let b = SharedLimitReport(instance: "b", minute: m, at: at + 1, deltas: [.init(key: "k", minute: m, requests: 4, tokens: 1)], inFlight: ["k": 1])
        let totals = try #require(try await storage.syncLimits(b)?["k"])
        #expect(totals.requests == 7 && totals.tokens == 31 && totals.previousRequests == 5)
        #expect(totals.othersInFlight == 2, "a's, not b's own")
        let again = try #require(try await storage.syncLimits(SharedLimitReport(instance: "a", minute: m, at: at + 2, deltas: [], inFlight: ["k": 0]))?["k"])
        #expect(again.requests == 7 && again.othersInFlight == 1)
    }

    @Test func sqliteSharesNothing() async throws {
        let storage = try await SQLiteStorage.open(url: try await TestDatabases.freshURL("sqlite"), logger: .init(label: "test"))
        defer { Task { try? await storage.close() } }
        #expect(try await storage.syncLimits(SharedLimitReport(instance: "a", minute: 1, at: 60_000, deltas: [], inFlight: [:])) == nil)
    }

    /// Two gateways on one PostgreSQL, a key with `rpm: 10`, 30 requests sent alternately; after
    /// each, both instances sync (counted, not timed) before the next.
    @Test(.enabled(if: TestDatabases.postgresURL != nil, "needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)"))
    func twoInstancesHoldOneKeyToItsRequestsPerMinute() async throws {
        let url = try await TestDatabases.freshURL("postgres")
        let yaml = "storage: \"\(url)\"\nlimits: { sync_interval: 20ms }\nchannels:\n  - { name: m, provider: mock, models: [mock-echo] }"
        let keys = "  - { name: shared, key: sk-shared-rpm-key-1, rpm: 10 }"
        let a = try await GatewayHarness.start(yaml, extraKeys: keys)
        let b = try await GatewayHarness.start(yaml, extraKeys: keys)
        defer { Task { await a.stop(); await b.stop() } }
        func syncedTwice(_ h: GatewayHarness) async throws {
            let start = h.gateway.sharedLimits.syncs.load(ordering: .relaxed)
            for _ in 0..<6_000 where h.gateway.sharedLimits.syncs.load(ordering: .relaxed) < start + 2 {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(h.gateway.sharedLimits.syncs.load(ordering: .relaxed) >= start + 2, "the instance stopped syncing")
        }
        // Counted per Unix minute (the windows the instances share): a loaded run may cross into
        // the next minute, where the sliding estimate lets part of the limit in again.
        var admittedIn: [Int64: Int] = [:]
        for i in 0..<30 {
            let h = i % 2 == 0 ? a : b
            let r = try await h.client.fetch(port: h.port, path: "/v1/chat/completions", key: "sk-shared-rpm-key-1",
                                             json: #"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#)
            if r.status == 200 { admittedIn[unixMillis() / 60_000, default: 0] += 1 } else { #expect(r.status == 429) }
            try await syncedTwice(a)
            try await syncedTwice(b)
        }
        let admitted = admittedIn.values.reduce(0, +)
        #expect(admittedIn.values.allSatisfy { $0 <= 11 } && admitted >= 10, "admitted \(admittedIn) of 30")
        if admittedIn.count == 1 { #expect((10...11).contains(admitted), "admitted \(admitted) of 30 within one minute") }
    }
}
