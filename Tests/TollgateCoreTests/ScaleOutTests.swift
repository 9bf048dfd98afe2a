import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Several gateway instances on one database: keys and budgets are shared (PostgreSQL, which the
/// test command starts; the key test also runs on a shared SQLite file).
@Suite struct ScaleOutTests {
    static var backend: String { TestDatabases.postgresURL == nil ? "sqlite" : "postgres" }

    @Test func aKeyStoredThroughOneInstanceWorksOnTheOther() async throws {
        let url = try await TestDatabases.freshURL(Self.backend)
        let yaml = "storage: \"\(url)\"\nstorage_refresh: 200ms\nchannels:\n  - { name: m, provider: mock, models: [mock-echo] }"
        let a = try await GatewayHarness.start(yaml)
        let b = try await GatewayHarness.start(yaml)
        defer { Task { await a.stop(); await b.stop() } }
        let secret = "sk-shared-\(UUID().uuidString)"
        func call(_ h: GatewayHarness) async throws -> Int {
            try await h.client.fetch(port: h.port, path: "/v1/chat/completions", key: secret,
                                     json: #"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#).status
        }
        #expect(try await call(b) == 401)
        try await a.gateway.storage.insert(StoredKey(name: "shared", digestHex: KeyDigest(of: secret).hex, prefix: "sk-shar",
                                                     models: [], expiresAt: nil, revoked: false, createdAt: unixSeconds()))
        // Each instance learns of the key on its own next refresh: wait for both to have done so.
        #expect(await GatewayHarness.eventually { (try? await call(b)) == 200 })
        #expect(await GatewayHarness.eventually { (try? await call(a)) == 200 })
    }

    @Test func aKeyChangedOrRotatedThroughOneInstanceChangesOnTheOther() async throws {
        let url = try await TestDatabases.freshURL(Self.backend)
        let yaml = """
        storage: "\(url)"
        storage_refresh: 200ms
        admin_key: \(KeyAdminTests.adminKey)
        channels:
          - { name: m, provider: mock, models: [mock-echo, other] }
        """
        let a = try await GatewayHarness.start(yaml)
        let b = try await GatewayHarness.start(yaml)
        defer { Task { await a.stop(); await b.stop() } }
        let admin = KeyAdminTests()
        let old = try await KeyChangeTests().made(a, #"{"name":"shared"}"#)
        #expect(await GatewayHarness.eventually { (try? await admin.chat(b, key: old))?.status == 200 })

        #expect(try await admin.admin(a, "PATCH", "/admin/keys/shared", #"{"models":["other"]}"#).status == 200)
        #expect(await GatewayHarness.eventually { (try? await admin.chat(b, key: old))?.status == 403 })
        let rotated = try await admin.admin(a, "POST", "/admin/keys/shared/rotate", #"{"grace":0}"#)
        let new = rotated.json?["key"]?.stringValue ?? ""
        #expect(await GatewayHarness.eventually { (try? await admin.chat(b, key: new, model: "other"))?.status == 200 })
        #expect(try await admin.chat(b, key: old, model: "other").status == 401)
    }

    /// Several instances sharing budgets need PostgreSQL (one SQLite file is for one instance).
    @Test(.enabled(if: TestDatabases.postgresURL != nil, "needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)"))
    func aSharedBudgetIsNotOverspentByMoreThanTheRequestsInFlight() async throws {
        let url = try await TestDatabases.freshURL("postgres")
        let upstream = try await BillingGatewayTests.upstream()  // each answer costs $0.004
        let yaml = """
        storage: "\(url)"
        storage_refresh: 100ms
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """
        let keys = "  - { name: team, key: sk-team-shared-01, budget: { amount: 0.1, period: daily } }"  // 25 answers' worth
        let a = try await GatewayHarness.start(yaml, extraKeys: keys)
        let b = try await GatewayHarness.start(yaml, extraKeys: keys)
        defer { Task { await a.stop(); await b.stop(); await upstream.stop() } }
        let concurrency = 8
        let served = NIOLockedValueBox(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let h = worker % 2 == 0 ? a : b
                group.addTask {
                    for _ in 0..<20 {
                        let r = try await h.client.fetch(port: h.port, path: "/v1/chat/completions", key: "sk-team-shared-01",
                                                         json: #"{"model":"gpt-4o","messages":[]}"#)
                        if r.status == 200 { served.withLockedValue { $0 += 1 } } else { #expect(r.status == 402) }
                    }
                }
            }
            try await group.waitForAll()
        }
        let answered = served.withLockedValue { $0 }
        // 25 answers fit the budget; past that, only requests already in flight (one per client) may finish.
        #expect(answered >= 25)
        #expect(answered <= 25 + concurrency, "answered \(answered)")
        await a.gateway.runtime.budgets.drain()
        await b.gateway.runtime.budgets.drain()
        let start = Budget(amountNano: 1, currency: "USD", period: .daily).periodStart(now: unixSeconds())
        let stored = try await a.gateway.storage.budgetSpent(key: "team", periodStart: start, currency: "USD")
        #expect(stored == Int64(answered) * 4_000_000)  // every answer charged exactly once, across both
    }
}

/// PostgreSQL announces changes (LISTEN/NOTIFY): with polling at a minute, a key revoked through
/// one instance is refused by the other as soon as the announcement arrives.
@Suite(.enabled(if: TestDatabases.postgresURL != nil, "needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)"))
struct ChangeFeedTests {
    @Test func aKeyRevokedThroughOneInstanceIsRefusedByTheOtherWithoutPolling() async throws {
        let url = try await TestDatabases.freshURL("postgres")
        let yaml = "storage: \"\(url)\"\nstorage_refresh: 60s\nchannels:\n  - { name: m, provider: mock, models: [mock-echo] }"
        let a = try await GatewayHarness.start(yaml)
        let b = try await GatewayHarness.start(yaml)
        defer { Task { await a.stop(); await b.stop() } }
        let secret = "sk-feed-\(UUID().uuidString)"
        func call(_ h: GatewayHarness) async throws -> Int {
            try await h.client.fetch(port: h.port, path: "/v1/chat/completions", key: secret,
                                     json: #"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#).status
        }
        /// Requests answered otherwise before the first `status`; the loop ends at the first.
        func answersBefore(_ status: Int, on h: GatewayHarness) async throws -> Int? {
            for count in 0..<2_000 where try await call(h) == status { return count }
            return nil
        }
        /// Waits (counting looks, not time) until `b` has handled `count` announcements.
        func heard(_ count: Int) async throws -> Bool {
            for _ in 0..<6_000 {
                if b.gateway.sharedState.announcements.load(ordering: .relaxed) >= count { return true }
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }
        // The feed's start is itself announced (everything is read again): once handled, only
        // announcements can bring a change before the minute's poll.
        #expect(try await heard(1), "the other instance listens")
        try await a.gateway.storage.insert(StoredKey(name: "feed", digestHex: KeyDigest(of: secret).hex, prefix: "sk-feed",
                                                     models: [], expiresAt: nil, revoked: false, createdAt: unixSeconds()))
        #expect(try await answersBefore(200, on: b) != nil, "the new key reached the other instance")
        #expect(try await a.gateway.storage.revokeKey(named: "feed"))
        #expect(try await answersBefore(401, on: b) != nil, "the revocation reached the other instance")
        #expect(try await heard(3), "both changes arrived as announcements")
    }

    @Test func migrationsSplitAtSemicolonsOutsideFunctionBodies() {
        let sql = "CREATE TABLE a (x INT); CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN PERFORM 1; RETURN NULL; END $$ LANGUAGE plpgsql;\n "
        #expect(PostgresStorage.statements(sql) == ["CREATE TABLE a (x INT)",
                                                     " CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN PERFORM 1; RETURN NULL; END $$ LANGUAGE plpgsql"])
    }
}
