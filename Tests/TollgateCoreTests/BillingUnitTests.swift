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
    func marks(_ headers: [(String, String)], _ body: String) -> BillingMarks {
        Array(body.utf8).withUnsafeBytes { BillingMarks(headers: HTTPHeaders(headers), body: $0) }
    }

    @Test func headersAndBodyFieldsMarkBatchAndPriority() {
        #expect(marks([], #"{"model":"m"}"#) == BillingMarks())
        #expect(marks([("x-batch-request", "true")], "{}").batch)
        #expect(marks([("OpenAI-Batch", "1")], "{}").batch)
        #expect(!marks([("x-batch-request", "false")], "{}").batch)
        #expect(marks([], #"{"metadata":{"batch_id":"b1"}}"#).batch)
        #expect(marks([("x-priority", "HIGH")], "{}").priority)
        #expect(marks([], #"{"service_tier":"priority"}"#).priority)
        #expect(!marks([], #"{"service_tier":"default"}"#).priority)
        #expect(marks([], #"{"metadata":{"priority":"urgent"}}"#).priority)
        #expect(!marks([], #"{"metadata":{"priority":"low"}}"#).priority)
        #expect(marks([], #"{"metadata": not json"#) == BillingMarks())  // never fails a request
    }
}

@Suite struct LedgerTests {
    static func record(_ id: String, key: String = "k", cost: Int64? = 5, started: Int64 = 1_000) -> RequestRecord {
        RequestRecord(requestID: id, keyName: key, route: "/v1/chat/completions", model: "m", channel: "c", provider: "openai",
                      status: 200, usage: TokenUsage(prompt: 10, completion: 2, cacheRead: 4),
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

    /// Storage that refuses every write.
    struct BrokenStorage: Storage {
        func keys() async throws -> [StoredKey] { [] }
        func insert(_ key: StoredKey) async throws {}
        func deleteKey(named name: String) async throws {}
        func revokeKey(named name: String) async throws -> Bool { false }
        func updateKey(_ key: StoredKey, ifDigest digestHex: String) async throws -> Bool { false }
        func channelOverrides() async throws -> [ChannelOverride] { [] }
        func saveChannelOverride(_ override: ChannelOverride) async throws {}
        func appendUsage(_ records: [RequestRecord]) async throws { throw CancellationError() }
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

    @Test func whatStorageRefusesIsSpilledToAFileNotLost() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-spill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
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

    @Test func anUnreachableWebhookNeverBlocksTheCaller() async {
        var settings = Notifier.Settings()
        settings.webhook = "http://127.0.0.1:9/x"
        settings.attempts = 2
        settings.backoff = .milliseconds(1)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let notifier = Notifier(settings: settings, logger: logger) { _, _ in
            try await Task.sleep(for: .milliseconds(50))
            throw CancellationError()
        }
        let started = ContinuousClock.now
        for i in 0..<20 { notifier.notify(Self.event("e\(i)")) }
        #expect(ContinuousClock.now - started < .seconds(5))  // enqueueing only; generous bound, no timing claim
        await notifier.shutdown(within: .milliseconds(100))
    }
}
