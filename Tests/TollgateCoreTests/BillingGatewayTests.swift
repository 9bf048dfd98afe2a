import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import TollgateCore

/// Billing through the gateway: the cost header, the usage ledger, budgets and unpriced models.
@Suite struct BillingGatewayTests {
    static let usageAnswer = #"""
    {"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
     "usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":400}}}
    """#

    /// An OpenAI-compatible upstream answering every model with `usageAnswer` (streams: two
    /// events, then the usage chunk when asked for).
    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            guard request.json?["stream"]?.boolValue == true else { return respond.json(200, usageAnswer) }
            respond.head(200, [("content-type", "text/event-stream")])
            respond.chunk(#"data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}"# + "\n\n")
            respond.chunk(#"data: {"choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":200,"prompt_tokens_details":{"cached_tokens":400}}}"# + "\n\n")
            respond.chunk("data: [DONE]\n\n")
            respond.end()
        }
    }

    /// The ledger's only model group, once the queue is written.
    static func ledgerRow(_ harness: GatewayHarness) async throws -> UsageRow? {
        await harness.gateway.ledger.flush()
        return try await harness.gateway.storage.usageReport(UsageQuery(groupBy: .model)).first
    }

    @Test func aCompleteAnswerCarriesItsExactCostAndTheLedgerKeepsIt() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let answer = try await harness.chat(#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 200)
        // 600 uncached x $2.50 + 400 cached x $1.25 + 200 out x $10 per 1M = $0.004
        #expect(answer.header("x-tollgate-cost") == "0.004000000")
        #expect(answer.header("x-tollgate-cost-currency") == "USD")
        let record = await harness.records.waitFor(answer.header("x-request-id"))
        #expect(record?.bill.cost == Money(nanoUnits: 4_000_000, currency: "USD"))
        #expect(record?.bill.priceName == "gpt-4o")
        #expect(record?.bill.priceSource == "bundled")
        let row = try #require(try await Self.ledgerRow(harness))
        #expect(row.group == "gpt-4o" && row.requests == 1 && row.promptTokens == 1000 && row.completionTokens == 200)
        #expect(row.cacheReadTokens == 400 && row.costNano == 4_000_000 && row.currency == "USD")
    }

    /// Counts are an upstream's words: counts at Int64.max (every kind, with audio) through the
    /// limiter (a key with a token limit), the meter, billing, the answer and the ledger stop
    /// nothing, and the key's next request is refused by its limit, not by a stopped process.
    @Test func hugeCountsFromAnUpstreamStopNothing() async throws {
        let max = Int64.max
        let answer = #"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(max),"completion_tokens":\#(max),"total_tokens":\#(max),"prompt_tokens_details":{"cached_tokens":\#(max),"audio_tokens":\#(max)},"completion_tokens_details":{"reasoning_tokens":\#(max),"audio_tokens":\#(max)}}}"#
        let upstream = try await MockUpstream { _, respond in respond.json(200, answer) }
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """, extraKeys: "  - { name: limited, key: sk-limited-key-0001, tpm: 1000000 }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#
        for _ in 0..<2 {
            let first = try await harness.chat(body)
            #expect(first.status == 200)
            let record = await harness.records.waitFor(first.header("x-request-id"))
            #expect(record?.usage.prompt == max && record?.usage.completion == max)
        }
        let limited = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-limited-key-0001", json: body)
        #expect(limited.status == 200)
        let refused = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-limited-key-0001", json: body)
        #expect(refused.status == 429)
        await harness.gateway.ledger.flush()
        let rows = try await harness.gateway.storage.recentRequests(RecentRequestsQuery(model: "gpt-4o", statuses: 200..<300))
        #expect(rows.count == 3 && rows.allSatisfy { $0.promptTokens == max && $0.completionTokens == max })
        let metrics = try await harness.client.fetch(port: harness.port, method: "GET", path: "/metrics")
        #expect(metrics.text.contains(#"tollgate_tokens_total{model="gpt-4o",kind="prompt"} \#(UInt64.max)"#))
    }

    @Test func aStreamIsBilledFromTheUsageTheUpstreamReported() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let answer = try await harness.chat(#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(answer.status == 200)
        #expect(!answer.text.contains("usage"))  // the gateway asked for usage itself and stripped it
        let record = try #require(await harness.records.waitFor(answer.header("x-request-id")))
        #expect(record.usage.prompt == 1000 && record.usage.cacheRead == 400 && record.usage.completion == 200)
        #expect(record.bill.cost?.nanoUnits == 4_000_000)
    }

    /// An upstream that serves the tier it chooses and says so (`service_tier` in the answer
    /// and in the stream's usage chunk), whatever the request asked for.
    static func tieredUpstream(serves tier: String) async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let usage = #"{"prompt_tokens":1000,"completion_tokens":200,"prompt_tokens_details":{"cached_tokens":400}}"#
            guard request.json?["stream"]?.boolValue == true else {
                return respond.json(200, #"{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[],"usage":"# + usage
                                    + #","service_tier":"\#(tier)"}"#)
            }
            respond.head(200, [("content-type", "text/event-stream")])
            respond.chunk(#"data: {"service_tier":"\#(tier)","choices":[{"index":0,"delta":{"content":"hi"}}]}"# + "\n\n")
            respond.chunk(#"data: {"service_tier":"\#(tier)","choices":[],"usage":"# + usage + "}\n\n")
            respond.chunk("data: [DONE]\n\n")
            respond.end()
        }
    }

    /// gpt-4o: standard 600 x 2.50 + 400 x 1.25 + 200 x 10 per 1M; priority 600 x 4.25 + 400 x
    /// 2.125 + 200 x 17; batch (no batch cache price: 50% of the cache read price).
    static let standard = "0.004000000", priority = "0.006800000", batch = "0.002000000"

    @Test func priorityIsBilledWhenTheUpstreamReportsServingIt() async throws {
        let servesPriority = try await Self.tieredUpstream(serves: "priority")
        let servesDefault = try await Self.tieredUpstream(serves: "default")
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: fast, provider: openai, base_url: "\(servesPriority.baseURL)/v1", models: [gpt-4o] }
          - { name: slow, provider: openai, base_url: "\(servesDefault.baseURL)/v1", models: [gpt-4o-slow], model_map: { gpt-4o-slow: gpt-4o } }
        """)
        defer { Task { await harness.stop(); await servesPriority.stop(); await servesDefault.stop() } }
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).header("x-tollgate-cost") == Self.priority)
        // Asking for priority does not make it priority: the answer says what was served.
        let asked = try await harness.chat(#"{"model":"gpt-4o-slow","service_tier":"priority","messages":[]}"#)
        #expect(asked.header("x-tollgate-cost") == Self.standard)
        let stream = try await harness.chat(#"{"model":"gpt-4o","stream":true,"messages":[]}"#)
        let record = try #require(await harness.records.waitFor(stream.header("x-request-id")))
        #expect(record.bill.cost?.nanoUnits == 6_800_000)
    }

    @Test func clientHeadersAndMetadataChooseNoPrice() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let hostileHeaders = [("authorization", "Bearer \(GatewayHarness.clientKey)"), ("content-type", "application/json"),
                              ("x-batch-request", "1"), ("openai-batch", "true"), ("x-priority", "high")]
        for body in [#"{"model":"gpt-4o","messages":[]}"#, #"{"model":"gpt-4o","metadata":{"batch_id":"b1","priority":"urgent"},"messages":[]}"#] {
            let answer = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", headers: hostileHeaders,
                                                        body: Array(body.utf8))
            #expect(answer.header("x-tollgate-cost") == Self.standard)
        }
        // A repeated service_tier would be served with one value and could be billed with the other.
        let repeated = try await harness.chat(#"{"model":"gpt-4o","service_tier":"default","messages":[],"service_tier":"priority"}"#)
        #expect(repeated.status == 400 && repeated.text.contains("service_tier"))
        #expect(upstream.requests.count == 2)
    }

    @Test func operatorsMarkKeysAndChannelsBatch() async throws {
        let upstream = try await Self.upstream()
        let batchKey = "sk-batch-key-0123456789"
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: live, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
          - { name: offline, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o-batch], model_map: { gpt-4o-batch: gpt-4o },
              billing: { tier: batch } }
        """, extraKeys: "  - { name: nightly, key: \(batchKey), billing: { tier: batch } }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        #expect(try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#).header("x-tollgate-cost") == Self.standard)
        #expect(try await harness.chat(#"{"model":"gpt-4o-batch","messages":[]}"#).header("x-tollgate-cost") == Self.batch)
        let nightly = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: batchKey,
                                                     json: #"{"model":"gpt-4o","messages":[]}"#)
        #expect(nightly.header("x-tollgate-cost") == Self.batch)
    }

    @Test func theMockModelIsBilledOfflineFromTheBuiltinPrice() async throws {
        let harness = try await GatewayHarness.start("channels:\n  - { name: m, provider: mock, models: [mock-echo] }")
        defer { Task { await harness.stop() } }
        let answer = try await harness.chat(#"{"model":"mock-echo","messages":[{"role":"user","content":"hello there"}]}"#)
        let usage = try #require(answer.json?["usage"])
        let prompt = try #require(usage["prompt_tokens"]?.int64Value), completion = try #require(usage["completion_tokens"]?.int64Value)
        #expect(answer.header("x-tollgate-cost") == Money.decimal(prompt * 1000 + completion * 2000))
    }

    @Test func aModelWithoutAPriceIsRecordedUnpricedAndNotified() async throws {
        let upstream = try await Self.upstream()
        let hooks = NIOLockedValueBox<[JSONValue]>([])
        let receiver = try await MockUpstream { request, respond in
            if let event = request.json { hooks.withLockedValue { $0.append(event) } }
            respond.json(200, "{}")
        }
        let harness = try await GatewayHarness.start("""
        notify: { webhook: "\(receiver.baseURL)/hook" }
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [private-model-x] }
        """)
        defer { Task { await harness.stop(); await upstream.stop(); await receiver.stop() } }
        let answer = try await harness.chat(#"{"model":"private-model-x","messages":[]}"#)
        #expect(answer.status == 200)
        #expect(answer.header("x-tollgate-cost") == nil)
        #expect(answer.header("x-tollgate-cost-status") == "unpriced")
        let record = try #require(await harness.records.waitFor(answer.header("x-request-id")))
        #expect(record.bill.cost == nil && record.bill.problem?.contains("private-model-x") == true)
        _ = try await harness.chat(#"{"model":"private-model-x","messages":[]}"#)  // notified once per model
        for _ in 0..<200 where hooks.withLockedValue({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(200))
        let events = hooks.withLockedValue { $0 }
        #expect(events.compactMap { $0["type"]?.stringValue }.sorted() == ["new_model", "price_missing"])
        let missing = try #require(events.first { $0["type"]?.stringValue == "price_missing" })
        #expect(missing["priority"]?.stringValue == "high")
        #expect(missing["metadata"]?["model"]?.stringValue == "private-model-x")
        #expect(missing["title"]?.stringValue != nil && missing["timestamp"]?.stringValue != nil)
    }

    @Test func aKeyOverItsBudgetGets402InItsRoutesDialect() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """, extraKeys: "  - { name: capped, key: sk-capped-key-0001, budget: { amount: 0.001, currency: USD, period: daily } }")
        defer { Task { await harness.stop(); await upstream.stop() } }
        func call(_ path: String, _ body: String) async throws -> TestResponse {
            try await harness.client.fetch(port: harness.port, path: path, key: "sk-capped-key-0001", json: body)
        }
        let first = try await call("/v1/chat/completions", #"{"model":"gpt-4o","messages":[]}"#)
        #expect(first.status == 200)  // spends $0.004 of $0.001: the next one is refused
        let openAI = try await call("/v1/chat/completions", #"{"model":"gpt-4o","messages":[]}"#)
        #expect(openAI.status == 402)
        #expect(openAI.json?["error"]?["code"]?.stringValue == "insufficient_quota")
        let anthropic = try await call("/v1/messages", #"{"model":"gpt-4o","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(anthropic.status == 402)
        #expect(anthropic.json?["type"]?.stringValue == "error")
        #expect(anthropic.json?["error"]?["message"]?.stringValue?.contains("budget") == true)
        #expect(harness.gateway.runtime.budgets.spent(key: "capped")?.nanoUnits == 4_000_000)
        #expect(upstream.requests.count == 1)
    }

    @Test func spendSurvivesARestart() async throws {
        let upstream = try await Self.upstream()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-budget-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let yaml = """
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """
        let keys = "  - { name: capped, key: sk-capped-key-0001, budget: { amount: 0.006, period: monthly } }"
        let first = try await GatewayHarness.start(yaml, extraKeys: keys, dataDirectory: dir)
        _ = try await first.client.fetch(port: first.port, path: "/v1/chat/completions", key: "sk-capped-key-0001",
                                         json: #"{"model":"gpt-4o","messages":[]}"#)
        await first.gateway.stop()
        await first.client.shutdown()
        let second = try await GatewayHarness.start(yaml, extraKeys: keys, dataDirectory: dir)
        defer { Task { await second.stop(); await upstream.stop() } }
        #expect(second.gateway.runtime.budgets.spent(key: "capped")?.nanoUnits == 4_000_000)
        let again = try await second.client.fetch(port: second.port, path: "/v1/chat/completions", key: "sk-capped-key-0001",
                                                  json: #"{"model":"gpt-4o","messages":[]}"#)
        #expect(again.status == 200)  // 0.004 < 0.006
        let refused = try await second.client.fetch(port: second.port, path: "/v1/chat/completions", key: "sk-capped-key-0001",
                                                    json: #"{"model":"gpt-4o","messages":[]}"#)
        #expect(refused.status == 402)
    }
}
