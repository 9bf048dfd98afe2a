import Foundation
import Logging
import NIOCore
import SQLiteNIO
import Testing
@testable import TollgateCore

/// The same storage contract on every backend: SQLite always, PostgreSQL when the test command
/// started one (`TOLLGATE_TEST_POSTGRES_URL`).
@Suite struct StorageTests {
    static func open(_ backend: String) async throws -> any Storage {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try await StorageOpener.open(url: try await TestDatabases.freshURL(backend), logger: logger)
    }

    @Test(arguments: TestDatabases.backends) func keysRoundTrip(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        let key = StoredKey(name: "k1", digestHex: KeyDigest(of: "sk-secret-1").hex, prefix: "sk-secr", models: ["gpt-*"],
                            expiresAt: 2_000_000_000, revoked: false, createdAt: 100)
        try await storage.insert(key)
        try await storage.insert(StoredKey(name: "k2", digestHex: KeyDigest(of: "sk-secret-2").hex, prefix: "sk-secr", models: [],
                                           expiresAt: nil, revoked: true, createdAt: 200))
        await #expect(throws: (any Error).self) { try await storage.insert(key) }  // names are unique
        #expect(try await storage.keys().map(\.name) == ["k1", "k2"])
        #expect(try await storage.keys().first == key)
        try await storage.deleteKey(named: "k1")
        #expect(try await storage.keys().map(\.name) == ["k2"])
    }

    @Test(arguments: TestDatabases.backends) func keysChangeOnlyFromTheSecretTheyHad(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        let original = StoredKey(name: "k", digestHex: KeyDigest(of: "sk-old").hex, prefix: "sk-old", models: [], expiresAt: nil,
                                 revoked: false, createdAt: 100)
        try await storage.insert(original)
        var changed = original
        changed.digestHex = KeyDigest(of: "sk-new").hex
        changed.models = ["gpt-*"]
        changed.expiresAt = 2_000_000_000
        changed.limits = KeyLimits(rpm: 5, tpm: 600, concurrency: 2)
        changed.budget = Budget(amountNano: 12_500_000_000, currency: "EUR", period: .weekly)
        changed.previousDigestHex = original.digestHex
        changed.previousValidUntil = 1_900_000_000
        #expect(try await storage.updateKey(changed, ifDigest: original.digestHex))
        #expect(try await storage.keys() == [changed])
        var late = original
        late.limits.rpm = 1
        #expect(try await storage.updateKey(late, ifDigest: original.digestHex) == false)  // rotated meanwhile
        #expect(try await storage.keys() == [changed])
        #expect(try await storage.updateKey(original, ifDigest: changed.digestHex))  // every field can be cleared again
        #expect(try await storage.keys() == [original])
    }

    @Test(arguments: TestDatabases.backends) func theLedgerKeepsEachRequestOnceAndReports(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        let day: Int64 = 1_795_000_000_000  // 2026-11-18
        try await storage.appendUsage([
            LedgerTests.record("a", key: "k", cost: 5, started: day), LedgerTests.record("b", key: "k", cost: nil, started: day),
            LedgerTests.record("c", key: "z", cost: 7, started: day + 86_400_000),
        ])
        try await storage.appendUsage([LedgerTests.record("a", key: "k", cost: 5, started: day)])  // a retried batch
        let byKey = try await storage.usageReport(UsageQuery(groupBy: .key))
        #expect(byKey.map(\.group) == ["k", "z"])
        #expect(byKey[0].requests == 2 && byKey[0].costNano == 5 && byKey[0].unpriced == 1)
        #expect(byKey[0].promptTokens == 20 && byKey[0].completionTokens == 4 && byKey[0].cacheReadTokens == 8)
        #expect(try await storage.usageReport(UsageQuery(groupBy: .day)).map(\.group) == ["2026-11-18", "2026-11-19"])
        #expect(try await storage.usageReport(UsageQuery(groupBy: .model, from: day + 1)).first?.requests == 1)
        #expect(try await storage.usageReport(UsageQuery(groupBy: .channel, key: "z")).first?.costNano == 7)
    }

    /// The ledger keeps the counts an upstream reported, however absurd: totals past Int64 are
    /// held at its bounds (SQLite's SUM would fail the whole report with "integer overflow",
    /// PostgreSQL's cast of its NUMERIC sum too); a total within range stays exact.
    @Test(arguments: TestDatabases.backends) func absurdCountsCannotFailAReport(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        func row(_ id: String, key: String, _ count: Int64, cost: Int64?) -> RequestRecord {
            RequestRecord(requestID: id, keyName: key, route: "/v1/chat/completions", model: "m", channel: "c", provider: "openai",
                          status: 200, usage: TokenUsage(prompt: count, completion: count, cacheRead: count, cacheCreation: count),
                          bill: Bill(cost: cost.map { Money(nanoUnits: $0, currency: "USD") }), latencyNanos: 1_000, startedAtMillis: 1_000)
        }
        try await storage.appendUsage([
            row("h1", key: "huge", .max, cost: .max), row("h2", key: "huge", .max, cost: .max),
            row("n1", key: "negative", .min, cost: nil), row("n2", key: "negative", .min, cost: nil),
            row("e1", key: "exact", .max - 9, cost: .max - 9), row("e2", key: "exact", 4, cost: 4), row("e3", key: "exact", -3, cost: nil),
            LedgerTests.record("a", key: "plain", cost: 5), LedgerTests.record("b", key: "plain", cost: 7),
        ])
        let byKey = Dictionary(uniqueKeysWithValues: try await storage.usageReport(UsageQuery(groupBy: .key)).map { ($0.group, $0) })
        let huge = try #require(byKey["huge"]), negative = try #require(byKey["negative"])
        let exact = try #require(byKey["exact"]), plain = try #require(byKey["plain"])
        #expect(huge.requests == 2 && huge.promptTokens == .max && huge.completionTokens == .max && huge.costNano == .max)
        #expect(huge.cacheReadTokens == .max && huge.cacheCreationTokens == .max)
        #expect(negative.promptTokens == .min && negative.cacheCreationTokens == .min && negative.costNano == 0 && negative.unpriced == 2)
        #expect(exact.promptTokens == .max - 8 && exact.costNano == .max - 5)  // (max - 9) + 4 - 3, and (max - 9) + 4
        #expect(plain.requests == 2 && plain.promptTokens == 20 && plain.costNano == 12)
    }

    /// SQLite's ledger binds each row's texts in place from one reused buffer, many rows a
    /// statement: every column must come back as it was (odd and empty text, each integer's
    /// extremes), in the right place, whether its row went in with others (the odd one is the
    /// second of a statement's rows, not the first) or alone (the last rows of a batch); a
    /// request id already written is skipped, within one statement too.
    @Test func theSQLiteLedgerKeepsEveryColumnExactly() async throws {
        let storage = try await SQLiteStorage.open(url: try await TestDatabases.freshURL("sqlite"), logger: Logger(label: "test"))
        try await closing(storage) {
            var usage = TokenUsage(prompt: .max, completion: 0, cacheRead: 3, cacheCreation: 4, reasoning: 7, estimated: true)
            usage.audioPrompt = 5
            usage.audioCompletion = 6
            let odd = RequestRecord(
                requestID: "q\"\\\n\u{1}\u{7f}é😀", keyName: "k'\"", route: "/v1/x?a=\\u0041", model: "m\t\r/<>", channel: "c", provider: "p",
                dialect: "gemini", status: 599, usage: usage,
                bill: Bill(cost: Money(nanoUnits: .min, currency: "EUR"), priceName: "n\u{2028}", priceSource: "s", problem: "x\"y"),
                latencyNanos: 2_345_678, firstByteNanos: 1_999, startedAtMillis: 1_795_000_000_000, fallbackFrom: "f")
            let bare = RequestRecord(requestID: "bare", keyName: "", route: "r", status: 0, latencyNanos: 0, startedAtMillis: 0)
            let many = (0...600).map { LedgerTests.record("n\($0)") }
            let rowsAtOnce = SQLiteLedgerWriter.rowsAtOnce
            try await storage.appendUsage(Array(many[..<(rowsAtOnce + 1)]) + [odd, LedgerTests.record("n2")] + many[(rowsAtOnce + 1)...] + [bare])
            let rows = try await storage.connection.query("SELECT * FROM usage_ledger WHERE request_id IN (?, ?) ORDER BY status DESC",
                                                          [.text(odd.requestID), .text("bare")])
            let columns = ["request_id", "key_name", "channel", "provider", "model", "dialect", "route", "status", "prompt_tokens",
                           "completion_tokens", "cache_read_tokens", "cache_creation_tokens", "audio_tokens", "reasoning_tokens",
                           "estimated", "cost_nano", "currency", "price_name", "price_source", "price_problem", "latency_us", "ttfb_us",
                           "started_at", "ended_at", "fallback_from"]
            let got = rows.map { row in columns.map { row.column($0) ?? .blob(ByteBuffer()) } }
            let int = { (n: Int64) in SQLiteData.integer(Int(n)) }
            #expect(got.count == 2)
            #expect(got.first == [.text(odd.requestID), .text("k'\""), .text("c"), .text("p"), .text("m\t\r/<>"), .text("gemini"),
                                  .text("/v1/x?a=\\u0041"), .integer(599), int(.max), .integer(0), .integer(3), .integer(4), .integer(11),
                                  .integer(7), .integer(1), int(.min), .text("EUR"), .text("n\u{2028}"), .text("s"), .text("x\"y"),
                                  .integer(2345), .integer(1), int(1_795_000_000_000), int(1_795_000_000_002), .text("f")])
            #expect(got.last == [.text("bare"), .text(""), .null, .null, .null, .text("openai"), .text("r"), .integer(0), .null, .null, .null,
                                 .null, .null, .null, .integer(0), .null, .null, .null, .null, .null, .integer(0), .null, .integer(0),
                                 .integer(0), .null])
            let count = try await storage.connection.query("SELECT COUNT(*) AS n FROM usage_ledger")
            #expect(count.first?.column("n")?.integer == 601 + 2)
        }
    }

    /// A row SQLite refuses fails its whole batch with SQLite's words and keeps none of it; the
    /// next batch is taken. A closed ledger, a folder that does not exist and a database without
    /// the ledger's table are clear errors.
    @Test func theSQLiteLedgerWritesABatchWholeOrNotAtAll() async throws {
        let url = try await TestDatabases.freshURL("sqlite")
        let storage = try await SQLiteStorage.open(url: url, logger: Logger(label: "test"))
        try await closing(storage) {
            _ = try await storage.connection.query("""
                CREATE TRIGGER refuse BEFORE INSERT ON usage_ledger WHEN NEW.request_id = 'bad'
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
            let refused = await #expect(throws: SQLiteLedgerError.self) {
                try await storage.appendUsage([LedgerTests.record("a"), LedgerTests.record("bad"), LedgerTests.record("c")])
            }
            #expect(refused?.description.contains("refused by the test") == true)
            try await storage.appendUsage([LedgerTests.record("a"), LedgerTests.record("c")])
            let ids = try await storage.connection.query("SELECT request_id FROM usage_ledger ORDER BY request_id")
            #expect(ids.compactMap { $0.column("request_id")?.string } == ["a", "c"])
        }
        let closed = await #expect(throws: SQLiteLedgerError.self) { try await storage.appendUsage([LedgerTests.record("d")]) }
        #expect(closed?.description.contains("closed ledger") == true)

        let nowhere = #expect(throws: SQLiteLedgerError.self) {
            try SQLiteLedgerWriter(path: "/nonexistent-\(UUID())/t.db", insert: "INSERT INTO t (a)", columns: 1)
        }
        #expect(nowhere?.description.contains("unable to open") == true)
        let path = String(url.dropFirst("sqlite://".count))
        let noTable = #expect(throws: SQLiteLedgerError.self) { try SQLiteLedgerWriter(path: path, insert: "INSERT INTO no_ledger (a)", columns: 1) }
        #expect(noTable?.description.contains("no such table: no_ledger") == true)
    }

    /// The ledger's connection and the storage's write at the same time and neither loses a row.
    /// (Through a second copy of SQLite they did not see each other's locks: an admin write was
    /// lost under load.) Writes are counted, not timed: both loops run to their end.
    @Test func theLedgerAndTheStoragesWritesAtOnceAreAllKept() async throws {
        let storage = try await SQLiteStorage.open(url: try await TestDatabases.freshURL("sqlite"), logger: Logger(label: "test"))
        let batches = 150, rowsPerBatch = 20, objects = 300
        try await closing(storage) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for b in 0..<batches {
                        try await storage.appendUsage((0..<rowsPerBatch).map { LedgerTests.record("b\(b)-\($0)") })
                    }
                }
                group.addTask {
                    for n in 0..<objects {
                        try await storage.putObject(StoredObject(kind: .price, name: "p\(n)", body: Array("{\"n\":\(n)}".utf8), updatedAt: Int64(n)))
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await storage.connection.query("SELECT COUNT(*) AS n FROM usage_ledger")
            #expect(rows.first?.column("n")?.integer == batches * rowsPerBatch)
            let stored = try await storage.objects(kind: .price)
            #expect(stored.count == objects)
            let integrity = try await storage.connection.query("PRAGMA integrity_check")
            #expect(integrity.first?.column("integrity_check")?.string == "ok")
        }
    }

    /// A price sync that fails rolls back only itself: admin writes made while it was open are
    /// kept. (Statements and transactions share one SQLite connection; a statement run inside an
    /// open transaction would roll back with it.)
    @Test func aFailedTransactionTakesNoInterleavedWriteAlong() async throws {
        let storage = try await SQLiteStorage.open(url: try await TestDatabases.freshURL("sqlite"), logger: Logger(label: "test"))
        let objects = 200
        try await closing(storage) {
            _ = try await storage.connection.query("""
                CREATE TRIGGER refuse BEFORE INSERT ON price_sync BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                """)
            let entries = Dictionary(uniqueKeysWithValues: (0..<3000).map { ("m\($0)", Array(#"{"input_cost_per_token":1e-06}"#.utf8)) })
            let sync = SyncedPrices(catalog: PriceCatalog(entries: entries, skipped: []), source: "file.json", syncedAt: 42)
            let failedSync = Task { try await storage.replaceSyncedPrices(sync) }
            for n in 0..<objects {
                try await storage.putObject(StoredObject(kind: .channel, name: "c\(n)", body: Array("{}".utf8), updatedAt: Int64(n)))
            }
            await #expect(throws: (any Error).self) { try await failedSync.value }
            #expect(try await storage.objects(kind: .channel).count == objects)
            #expect(try await storage.syncedPrices() == nil)
        }
    }

    @Test(arguments: TestDatabases.backends) func recentRequestsAndSplitReports(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        let day: Int64 = 1_795_000_000_000
        let refused = LedgerTests.record("d", key: "k", cost: nil, started: day + 3, status: 429)
        let admin = LedgerTests.record("e", cost: nil, started: day + 4, route: "/admin/usage")
        let named = LedgerTests.record("c", key: "k", cost: 2, started: day + 2, route: "chat")  // model calls are recorded by route name
        try await storage.appendUsage([LedgerTests.record("a", key: "k", cost: 5, started: day), LedgerTests.record("b", key: "z", cost: 7, started: day + 1),
                                       named, refused, admin])
        let all = try await storage.recentRequests(RecentRequestsQuery())
        #expect(all.map(\.requestID) == ["d", "c", "b", "a"])  // newest first, client routes only
        #expect(all.last?.costNano == 5 && all.last?.currency == "USD" && all.last?.key == "k" && all.first?.status == 429)
        #expect(try await storage.recentRequests(RecentRequestsQuery(key: "k", statuses: 200..<300)).map(\.requestID) == ["c", "a"])
        #expect(try await storage.recentRequests(RecentRequestsQuery(model: "m", limit: 2)).count == 2)
        #expect(try await storage.recentRequests(RecentRequestsQuery(model: "none")).isEmpty)
        let split = try await storage.usageReport(UsageQuery(groupBy: .day, splitBy: .key))
        #expect(split.filter { $0.group == "2026-11-18" }.map { "\($0.split ?? "-")=\($0.costNano)" } == ["k=7", "z=7"])
    }

    @Test(arguments: TestDatabases.backends) func budgetSpendAddsUpAtomically(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask { _ = try await storage.addBudgetSpend(key: "k", periodStart: 10, currency: "USD", nano: 3) }
            }
            try await group.waitForAll()
        }
        #expect(try await storage.budgetSpent(key: "k", periodStart: 10, currency: "USD") == 150)
        #expect(try await storage.budgetSpent(key: "k", periodStart: 11, currency: "USD") == 0)
        #expect(try await storage.addBudgetSpend(key: "k", periodStart: 10, currency: "USD", nano: 1) == 151)
    }

    @Test(arguments: TestDatabases.backends) func syncedPricesAreReplacedWhole(backend: String) async throws {
        let storage = try await Self.open(backend)
        defer { Task { try? await storage.close() } }
        #expect(try await storage.syncedPrices() == nil)
        #expect(try await storage.pricesSyncedAt() == 0)
        var catalog = PriceCatalog(entries: ["a": Array(#"{"input_cost_per_token":1e-06}"#.utf8)], skipped: [("bad", "negative")])
        try await storage.replaceSyncedPrices(SyncedPrices(catalog: catalog, source: "file.json", syncedAt: 42))
        catalog.entries = ["b": Array(#"{"input_cost_per_token":2e-06}"#.utf8)]
        catalog.skipped = []
        try await storage.replaceSyncedPrices(SyncedPrices(catalog: catalog, source: "https://x", syncedAt: 43))
        let stored = try #require(try await storage.syncedPrices())
        #expect(stored.catalog.entries == catalog.entries && stored.catalog.skipped.isEmpty)
        #expect(stored.source == "https://x" && stored.syncedAt == 43)
        #expect(try await storage.pricesSyncedAt() == 43)
    }

    @Test(arguments: TestDatabases.backends) func migrationsRunOnceAndKeepData(backend: String) async throws {
        let url = try await TestDatabases.freshURL(backend)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let first = try await StorageOpener.open(url: url, logger: logger)
        try await closing(first) {
            try await first.insert(StoredKey(name: "kept", digestHex: KeyDigest(of: "sk-kept-key").hex, prefix: "sk-kept", models: [],
                                             expiresAt: nil, revoked: false, createdAt: 1))
        }
        let second = try await StorageOpener.open(url: url, logger: logger)  // a restart: migrations already applied
        defer { Task { try? await second.close() } }
        #expect(try await second.keys().map(\.name) == ["kept"])
    }

    /// A ledger written before it was kept in start-time order keeps every row and column; then
    /// a replayed row is still ignored, and a time range is read through the table's own key.
    @Test func anOlderLedgerIsRebuiltInStartTimeOrder() async throws {
        let path = String(try await TestDatabases.freshURL("sqlite").dropFirst("sqlite://".count))
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let old = try await SQLiteConnection.open(storage: .file(path: path))
        let columns = "request_id, key_name, started_at, route, dialect, status, latency_us, ended_at, cost_nano, fallback_from"
        do {
            let rebuild = try #require(SQLiteStorage.migrations.firstIndex { $0.contains("usage_ledger_by_time") })
            try await SQLiteStorage.migrate(old, count: rebuild)
            _ = try await old.query("""
                INSERT INTO usage_ledger (\(columns)) VALUES ('late', 'k', 2000, '/v1/x', 'openai', 200, 5, 2001, 7, NULL),
                    ('early', NULL, 1000, 'r', 'gemini', 502, 1, 1000, NULL, 'f')
                """)
        } catch {
            try? await old.close()
            throw error
        }
        try await old.close()
        let storage = try await SQLiteStorage.open(url: "sqlite://" + path, logger: Logger(label: "test"))
        try await closing(storage) {
            let rows = try await storage.connection.query("SELECT \(columns) FROM usage_ledger")
            #expect(rows.map { row in columns.split(separator: ",").map { row.column($0.trimmingCharacters(in: .whitespaces)) ?? .blob(ByteBuffer()) } } == [
                [.text("early"), .null, .integer(1000), .text("r"), .text("gemini"), .integer(502), .integer(1), .integer(1000), .null, .text("f")],
                [.text("late"), .text("k"), .integer(2000), .text("/v1/x"), .text("openai"), .integer(200), .integer(5), .integer(2001), .integer(7), .null],
            ])
            try await storage.appendUsage([LedgerTests.record("early", started: 1000), LedgerTests.record("early", started: 3000)])
            let count = try await storage.connection.query("SELECT COUNT(*) AS n FROM usage_ledger")
            #expect(count.first?.column("n")?.integer == 3)
            let indexes = try await storage.connection.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_ledger'")
            #expect(indexes.compactMap { $0.column("name")?.string }.sorted() == ["usage_ledger_key"])
            let plan = try await storage.connection.query("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM usage_ledger WHERE started_at >= 1 AND started_at < 2")
            #expect(plan.compactMap { $0.column("detail")?.string } == ["SEARCH usage_ledger USING PRIMARY KEY (started_at>? AND started_at<?)"])
        }
    }

    @Test func aBadStorageURLIsAClearError() async throws {
        await #expect(throws: StorageError.self) { try await StorageOpener.open(url: "postgres://nohost", logger: Logger(label: "t")) }
        #expect(ConfigTests().error("storage: mysql://x\n")?.message == "must be a sqlite:// or postgres://user:password@host:port/database URL")
    }
}
