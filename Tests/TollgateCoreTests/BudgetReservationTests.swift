import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Budgets hold under concurrency: each request reserves its estimated cost (prompt estimate plus
/// `max_tokens` at the output price) until it settles, so concurrent requests of one key overspend
/// by at most one; a key with a budget is never served a model without a price.
@Suite struct BudgetReservationTests {
    static let budgetKey = "sk-budget-key-0123456789"

    /// Holds every chat answer until the test releases them.
    final class HoldingUpstream: Sendable {
        let held = NIOLockedValueBox<[MockResponder]>([])
        let mock: MockUpstream
        init() async throws {
            let box = held
            mock = try await MockUpstream { _, respond in box.withLockedValue { $0.append(respond) } }
        }
        var count: Int { held.withLockedValue { $0.count } }
        func release() {
            for respond in held.withLockedValue({ $0 }) {
                respond.json(200, #"{"id":"c","object":"chat.completion","choices":[],"usage":{"prompt_tokens":25,"completion_tokens":100}}"#)
            }
        }
    }

    static func fetch(_ harness: GatewayHarness, _ json: String, key: String = budgetKey) async throws -> TestResponse {
        try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: key, json: json)
    }

    @Test func concurrentRequestsOfOneKeyOverspendByAtMostOne() async throws {
        let upstream = try await HoldingUpstream()
        // gpt-4o: $2.50 in, $10 out per 1M. Each request reserves ~25 prompt tokens + 100 output
        // tokens, about $0.00106: a $0.003 budget admits three at once.
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.mock.baseURL)/v1", models: [gpt-4o] }
        """, extraKeys: "  - { name: budgeted, key: \(Self.budgetKey), budget: { amount: 0.003, currency: USD, period: monthly } }")
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        let body = #"{"model":"gpt-4o","max_tokens":100,"messages":[{"role":"user","content":"hi there, friend"}]}"#
        let answers = (0..<10).map { _ in Task { try await Self.fetch(harness, body) } }
        let threeHeld = await GatewayHarness.eventually { upstream.count == 3 }
        #expect(threeHeld)
        // The seven others are refused while the three are in flight (nothing else reaches the upstream).
        upstream.release()
        var statuses: [Int] = []
        for answer in answers { statuses.append(try await answer.value.status) }
        #expect(statuses.filter { $0 == 200 }.count == 3 && statuses.filter { $0 == 402 }.count == 7)
        #expect(upstream.count == 3)
        let refusal = try await Self.fetch(harness, body)
        #expect(refusal.status == 402 && refusal.json?["error"]?["code"]?.stringValue == "insufficient_quota")
        // Spent: 3 x (25 x 2.5 + 100 x 10) / 1M = $0.0031875, over $0.003 by less than one request.
        let spent = try #require(harness.gateway.runtime.budgets.spent(key: "budgeted"))
        #expect(spent.nanoUnits == 3_187_500)
    }

    @Test func aBudgetedKeyIsNeverServedAnUnpricedModel() async throws {
        let upstream = try await ScriptedUpstream.start()
        let harness = try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [private-model-x] }
        """, extraKeys: "  - { name: budgeted, key: \(Self.budgetKey), budget: { amount: 5, currency: USD, period: daily } }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        let refused = try await Self.fetch(harness, #"{"model":"private-model-x","messages":[]}"#)
        #expect(refused.status == 403)
        #expect(refused.json?["error"]?["code"]?.stringValue == "model_not_priced")
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains("has a budget") == true)
        #expect(upstream.served == 0)
        // A key without a budget is still served (recorded unpriced, never at zero).
        let open = try await Self.fetch(harness, #"{"model":"private-model-x","messages":[]}"#, key: GatewayHarness.clientKey)
        #expect(open.status == 200 && open.header("x-tollgate-cost-status") == "unpriced")
    }

    @Test func reservationsAreGivenBackOnEveryEnding() {
        let tracker = BudgetTracker(budgets: ["k": Budget(amountNano: 100, currency: "USD", period: .total)], rates: RateBook(ExchangeRates()))
        let usd = { (nano: Int64) in Money(nanoUnits: nano, currency: "USD") }
        let first = try? tracker.reserve(key: "k", estimate: usd(60), now: 0)
        let second = try? tracker.reserve(key: "k", estimate: usd(60), now: 0)
        #expect(first != nil && second != nil)  // 60 < 100: the second may still start
        #expect(throws: GatewayError.self) { try tracker.reserve(key: "k", estimate: usd(1), now: 0) }
        if let first { tracker.settle(first, cost: nil, now: 0) }  // failed: nothing charged
        if let second { tracker.settle(second, cost: usd(30), now: 0) }
        #expect(tracker.spent(key: "k")?.nanoUnits == 30)
        #expect((try? tracker.reserve(key: "k", estimate: usd(50), now: 0)) != nil)
        #expect((try? tracker.reserve(key: "none", estimate: usd(50), now: 0)) == nil)
    }
}
