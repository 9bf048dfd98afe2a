import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOHTTP1
import Testing
@testable import TollgateCore

@Suite struct MoneyTests {
    @Test func decimalsAreExact() {
        #expect(Money.decimal(915_000_000) == "0.915000000")
        #expect(Money.decimal(0) == "0.000000000")
        #expect(Money.decimal(-1) == "-0.000000001")
        #expect(Money.decimal(12_345_678_901) == "12.345678901")
        #expect(Money.decimal(.min) == "-9223372036.854775808")
        #expect(Money.decimal(42, places: 3) == "0.042" && Money.decimal(-1_500, places: 3) == "-1.500")
        #expect(Money.decimal(42, places: 0) == "42" && Money.decimal(.max, places: 0) == "9223372036854775807")
        #expect(Money.decimal(.max) == "9223372036.854775807")
    }

    @Test func parsingKeepsEveryDigitOrRefuses() {
        #expect(Money.parseNano("50") == 50_000_000_000)
        #expect(Money.parseNano("0.25") == 250_000_000)
        #expect(Money.parseNano("1e-3") == 1_000_000)
        #expect(Money.parseNano("-2.5") == -2_500_000_000)
        #expect(Money.parseNano("0.0000000001") == nil)  // finer than a nano
        for bad in ["", "abc", "1.2.3", "1e", "--1", "1e99", "99999999999999999999"] { #expect(Money.parseNano(bad) == nil, "\(bad)") }
    }

    @Test func exchangeRatesConvertExactlyAndFlagStaleness() {
        var rates = ExchangeRates()
        rates.set("CNY", perUSD: 7_200_000_000, at: 1000)
        let yuan = rates.convert(Money(nanoUnits: 1_000_000_000, currency: "USD"), to: "CNY", now: 1000)
        #expect(yuan?.money == Money(nanoUnits: 7_200_000_000, currency: "CNY") && yuan?.stale == false)
        let dollars = rates.convert(Money(nanoUnits: 1, currency: "CNY"), to: "USD", now: 1000)
        #expect(dollars?.money.nanoUnits == 0)  // 0.139 nano rounds half up to 0
        #expect(rates.convert(Money(nanoUnits: 36, currency: "CNY"), to: "USD", now: 1000)?.money.nanoUnits == 5)
        #expect(rates.convert(Money(nanoUnits: 1, currency: "CNY"), to: "USD", now: 1000 + 25 * 3600)?.stale == true)
        #expect(rates.convert(Money(nanoUnits: 1, currency: "EUR"), to: "USD", now: 0) == nil)
    }

    @Test func budgetPeriodsStartInUTC() {
        let now: Int64 = 1_795_000_000  // 2026-11-18 (a Wednesday) 11:06:40 UTC
        #expect(Budget(amountNano: 1, currency: "USD", period: .daily).periodStart(now: now) == 1_794_960_000)
        #expect(Budget(amountNano: 1, currency: "USD", period: .weekly).periodStart(now: now) == 1_794_960_000 - 2 * 86_400)  // Monday
        #expect(Budget(amountNano: 1, currency: "USD", period: .monthly).periodStart(now: now) == 1_793_491_200)
        #expect(Budget(amountNano: 1, currency: "USD", period: .total).periodStart(now: now) == 0)
    }

    @Test func budgetsRollOverAtThePeriodsEnd() {
        let tracker = BudgetTracker(budgets: ["k": Budget(amountNano: 10, currency: "USD", period: .daily)], rates: RateBook(ExchangeRates()))
        tracker.charge(key: "k", cost: Money(nanoUnits: 10, currency: "USD"), now: 1_794_960_100)
        #expect(tracker.check(key: "k", now: 1_794_960_200)?.status == 402)
        #expect(tracker.check(key: "k", now: 1_794_960_000 + 86_400) == nil)  // a new day
        #expect(tracker.check(key: "other", now: 0) == nil)
    }
}

@Suite struct BillingMarksTests {
    @Test func onlyAnAnswersServiceTierMarksPriority() {
        #expect(BillingMarks.servedPriority(.string("priority")))
        #expect(!BillingMarks.servedPriority(.string("default")) && !BillingMarks.servedPriority(nil))
        #expect(!BillingMarks.servedPriority(.object(["priority": .bool(true)])))
        #expect(BillingMarks(batch: true).abiFlags != BillingMarks().abiFlags)
    }

    @Test func billingTiersParseAndRefuseTheUnknown() throws {
        let config = try ConfigLoader.parse("""
        keys:
          - { name: k, key: sk-0123456789, billing: { tier: batch } }
        channels:
          - { name: c, provider: mock, billing: { tier: standard } }
        """, file: "t.yaml")
        #expect(config.keys.first?.billingTier == .batch && config.channels.first?.billingTier == .standard)
        for bad in ["billing: { tier: cheap }", "billing: { level: batch }", "billing: batch"] {
            #expect(throws: ConfigError.self) {
                try ConfigLoader.parse("keys:\n  - { name: k, key: sk-0123456789, \(bad) }", file: "t.yaml")
            }
        }
    }
}

@Suite struct LedgerTests {
    static func record(_ id: String, key: String = "k", cost: Int64? = 5, started: Int64 = 1_000, route: String = "/v1/chat/completions",
                       status: Int = 200) -> RequestRecord {
        RequestRecord(requestID: id, keyName: key, route: route, model: "m", channel: "c", provider: "openai",
                      status: status, usage: TokenUsage(prompt: 10, completion: 2, cacheRead: 4),
                      bill: Bill(cost: cost.map { Money(nanoUnits: $0, currency: "USD") }, priceName: "m", priceSource: "bundled"),
                      latencyNanos: 2_000_000, firstByteNanos: 1_000_000, startedAtMillis: started)
    }

    static func storage() async throws -> (SQLiteStorage, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-ledger-\(UUID().uuidString)").path
        return (try await SQLiteStorage.open(url: dir + "/t.db", logger: Logger(label: "test")), dir)
    }

    @Test func recordsAreWrittenOnceAndReportedByGroup() async throws {
        let (storage, dir) = try await Self.storage()
        defer { Task { try? await storage.close(); try? FileManager.default.removeItem(atPath: dir) } }
        let ledger = UsageLedger(storage: storage, logger: Logger(label: "test"), spillPath: dir + "/spill.jsonl")
        for i in 0..<3 { ledger.record(Self.record("r\(i)", key: i == 2 ? "other" : "k")) }
        ledger.record(Self.record("r3", cost: nil))
        #expect(ledger.queueDepth == 4)
        #expect(await ledger.flush())
        try await storage.appendUsage([Self.record("r0")])  // a retried batch: not counted twice
        let byKey = try await storage.usageReport(UsageQuery(groupBy: .key))
        #expect(byKey.map(\.group) == ["k", "other"])
        #expect(byKey[0].requests == 3 && byKey[0].costNano == 10 && byKey[0].unpriced == 1 && byKey[0].cacheReadTokens == 12)
        let byDay = try await storage.usageReport(UsageQuery(groupBy: .day))
        #expect(byDay.map(\.group) == ["1970-01-01"])
        #expect(try await storage.usageReport(UsageQuery(groupBy: .key, from: 2_000)).isEmpty)
    }

    /// Shutdown ends the writer's wait between flushes: with a year's interval it still returns,
    /// every record written. (Counted, not timed: were the wait not ended, this test would hang
    /// until the suite's own time limit; on a loaded machine the flush alone can take minutes.)
    @Test func shutdownDoesNotWaitOutTheFlushInterval() async throws {
        let (storage, dir) = try await Self.storage()
        defer { Task { try? await storage.close(); try? FileManager.default.removeItem(atPath: dir) } }
        let ledger = UsageLedger(storage: storage, logger: Logger(label: "test"), flushInterval: .seconds(365 * 86_400),
                                 spillPath: dir + "/spill.jsonl")
        ledger.start()
        ledger.record(Self.record("r0"))
        while !ledger.isNapping { await Task.yield() }
        await ledger.shutdown()
        #expect(ledger.writtenCount == 1 && ledger.queueDepth == 0)
        #expect(try await storage.usageReport(UsageQuery(groupBy: .key)).first?.requests == 1)
    }

    /// Storage that refuses every write, or, with `refuses`, every batch holding a row it refuses
    /// (as a transaction would); `accepted` lists the rows it took. Its keys come from `keysSource`.
    struct BrokenStorage: Storage {
        var refuses: @Sendable (RequestRecord) -> Bool = { _ in true }
        var keysSource: @Sendable () async throws -> [StoredKey] = { [] }
        let accepted = NIOLockedValueBox<[String]>([])
        func keys() async throws -> [StoredKey] { try await keysSource() }
        func insert(_ key: StoredKey) async throws {}
        func deleteKey(named name: String) async throws {}
        func revokeKey(named name: String) async throws -> Bool { false }
        func updateKey(_ key: StoredKey, ifDigest digestHex: String) async throws -> Bool { false }
        func channelOverrides() async throws -> [ChannelOverride] { [] }
        func saveChannelOverride(_ override: ChannelOverride) async throws {}
        func appendUsage(_ records: [RequestRecord]) async throws {
            if records.contains(where: refuses) { throw CancellationError() }
            accepted.withLockedValue { $0 += records.map(\.requestID) }
        }
        func usageReport(_ query: UsageQuery) async throws -> [UsageRow] { [] }
        func recentRequests(_ query: RecentRequestsQuery) async throws -> [LedgerRow] { [] }
        func addBudgetSpend(key: String, periodStart: Int64, currency: String, nano: Int64) async throws -> Int64 { 0 }
        func budgetSpent(key: String, periodStart: Int64, currency: String) async throws -> Int64 { 0 }
        func syncedPrices() async throws -> SyncedPrices? { nil }
        func replaceSyncedPrices(_ prices: SyncedPrices) async throws {}
        func pricesSyncedAt() async throws -> Int64 { 0 }
        func objects(kind: StoredObject.Kind) async throws -> [StoredObject] { [] }
        func putObject(_ object: StoredObject) async throws {}
        func deleteObject(kind: StoredObject.Kind, name: String) async throws -> Bool { false }
        func objectsStamp() async throws -> String { "" }
        func close() async throws {}
    }

    static func spillDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-spill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test func whatStorageRefusesIsSpilledToAFileNotLost() async throws {
        let dir = try Self.spillDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Self.quietLogger
        let ledger = UsageLedger(storage: BrokenStorage(), logger: logger, flushInterval: .milliseconds(10), spillPath: dir + "/spill.jsonl")
        ledger.start()
        ledger.record(Self.record("a"))
        ledger.record(Self.record("b"))
        try await Task.sleep(for: .milliseconds(50))
        #expect(ledger.queueDepth == 2)  // kept for the next try
        await ledger.shutdown()
        let lines = try String(contentsOfFile: dir + "/spill.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONParser.parse(String(lines[0]))
        #expect(first["request_id"]?.stringValue == "a" && first["cost"] == .number("0.000000005"))
        #expect(first["cache_read_tokens"]?.int64Value == 4)
    }

    /// One row storage refuses (on PostgreSQL, a NUL in a text column) goes to the spill file; the
    /// rows behind it are written, nothing waits for it.
    @Test func aRefusedRowIsSpilledAndNeverBlocksTheRowsBehindIt() async throws {
        let dir = try Self.spillDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Self.quietLogger
        let storage = BrokenStorage(refuses: { $0.requestID.hasPrefix("bad") })
        let ledger = UsageLedger(storage: storage, logger: logger, spillPath: dir + "/spill.jsonl")
        ledger.record(Self.record("bad1"))
        ledger.record(Self.record("good1"))
        #expect(await ledger.flush())  // one bad row among good ones: spilled in the same flush
        #expect(ledger.queueDepth == 0 && storage.accepted.withLockedValue { $0 } == ["good1"])
        // Bad rows at the front look like a store that is down; the untried rows go first next time.
        for id in ["bad2", "bad3", "bad4", "good2"] { ledger.record(Self.record(id)) }
        #expect(await ledger.flush() == false)
        #expect(await ledger.flush())
        #expect(ledger.queueDepth == 0 && storage.accepted.withLockedValue { $0 } == ["good1", "good2"])
        let spilled = try String(contentsOfFile: dir + "/spill.jsonl", encoding: .utf8).split(separator: "\n")
        let ids = spilled.compactMap { try? JSONParser.parse(String($0))["request_id"]?.stringValue }
        #expect(ids.sorted() == ["bad1", "bad2", "bad3", "bad4"])
    }

    @Test func theQueueIsBoundedWhileStorageIsDown() async throws {
        let dir = try Self.spillDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Self.quietLogger
        let ledger = UsageLedger(storage: BrokenStorage(), logger: logger, spillPath: dir + "/spill.jsonl", maxQueued: 5)
        for n in 0..<8 { ledger.record(Self.record("r\(n)")) }
        #expect(await ledger.flush() == false)
        #expect(ledger.queueDepth == 5)  // the oldest beyond the bound were spilled, not dropped
        let spilled = try String(contentsOfFile: dir + "/spill.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(spilled.count == 3)
        await ledger.shutdown()
        let all = try String(contentsOfFile: dir + "/spill.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(Set(all.compactMap { try? JSONParser.parse(String($0))["request_id"]?.stringValue }) == Set((0..<8).map { "r\($0)" }))
    }
}

@Suite struct NotifierTests {
    static func event(_ type: String, _ priority: NotificationEvent.Priority = .high) -> NotificationEvent {
        NotificationEvent(type: type, priority: priority, title: "t", message: "m", metadata: ["model": "x"])
    }

    @Test func eventsAreFilteredLimitedPerTypeAndRetried() async throws {
        let posted = NIOLockedValueBox<[(String, JSONValue)]>([])
        let failuresLeft = NIOLockedValueBox(2)
        var settings = Notifier.Settings()
        settings.webhook = "http://hooks.example/x"
        settings.minimumPriority = .medium
        settings.perTypePerHour = 3
        settings.backoff = .milliseconds(5)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let notifier = Notifier(settings: settings, logger: logger) { url, body in
            let fail = failuresLeft.withLockedValue { left -> Bool in
                defer { left -= 1 }
                return left > 0
            }
            if fail { return 503 }  // the first two deliveries fail; the retry gets through
            posted.withLockedValue { $0.append((url, (try? JSONParser.parse(body)) ?? .null)) }
            return 204
        }
        notifier.notify(Self.event("price_missing", .low))  // below the minimum: dropped
        for _ in 0..<5 { notifier.notify(Self.event("price_missing")) }  // only 3 per hour
        notifier.notify(Self.event("new_model", .critical))
        await notifier.shutdown(within: .seconds(5))
        let events = posted.withLockedValue { $0 }
        #expect(events.count == 4)
        #expect(events.filter { $0.1["type"]?.stringValue == "price_missing" }.count == 3)
        #expect(events.allSatisfy { $0.0 == "http://hooks.example/x" })
        let sample = try #require(events.first?.1)
        for field in ["type", "priority", "title", "message", "metadata", "timestamp"] { #expect(sample[field] != nil, "\(field)") }
    }

    /// Counted, not timed: every delivery hangs (an unreachable host) and none ever finishes while
    /// the 20 calls return; a notify that waited on its delivery would never return (the time
    /// limit then fails the test instead of hanging it).
    @Test(.timeLimit(.minutes(1))) func anUnreachableWebhookNeverBlocksTheCaller() async {
        var settings = Notifier.Settings()
        settings.webhook = "http://127.0.0.1:9/x"
        settings.attempts = 2
        settings.backoff = .milliseconds(1)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let finished = NIOLockedValueBox(0)
        let notifier = Notifier(settings: settings, logger: logger) { _, _ in
            defer { finished.withLockedValue { $0 += 1 } }
            try await Task.sleep(for: .seconds(3600))
            throw CancellationError()
        }
        for i in 0..<20 { notifier.notify(Self.event("e\(i)")) }
        #expect(finished.withLockedValue { $0 } == 0)  // every call returned with its delivery still hanging
        await notifier.shutdown(within: .milliseconds(100))
    }
}
