import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import TollgateCore

/// Per-key requests per minute, tokens per minute and concurrency, through the gateway, under
/// concurrent bursts; 429 with retry-after in the route's dialect.
@Suite struct KeyLimitTests {
    /// The limiter's clock stands still: a minute's window cannot end while a test on a loaded
    /// machine waits between two requests.
    static func frozenClock() -> LimiterClock {
        let now = NIODeadline.now()
        return { now }
    }

    static func harness(_ limits: String, upstream: String? = nil) async throws -> GatewayHarness {
        let channel = upstream.map { "- { name: up, provider: openai, base_url: \"\($0)/v1\", models: [m] }" }
            ?? "- { name: mock, provider: mock, models: [m] }"
        return try await GatewayHarness.start("""
        health: { probes: false }
        channels:
          \(channel)
        """) { config in
            config.limiterClock = frozenClock()
            config.keys.append(KeyConfig(name: "limited", key: "sk-limited-key-123", rpm: nil, tpm: nil, concurrency: nil))
            let parsed = try? ConfigLoader.parse("keys: [{ name: limited, key: sk-limited-key-123, \(limits) }]", file: "k.yaml")
            if let key = parsed?.keys.first { config.keys[config.keys.count - 1] = key }
        }
    }

    static func burst(_ harness: GatewayHarness, count: Int, path: String = "/v1/chat/completions",
                      body: String = #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#) async -> [TestResponse] {
        await withTaskGroup(of: TestResponse?.self) { group in
            for _ in 0..<count {
                group.addTask { try? await harness.client.fetch(port: harness.port, path: path, key: "sk-limited-key-123", json: body) }
            }
            var all: [TestResponse] = []
            for await response in group { if let response { all.append(response) } }
            return all
        }
    }

    @Test func requestsPerMinuteHoldUnderABurst() async throws {
        let harness = try await Self.harness("rpm: 7")
        defer { Task { await harness.stop() } }
        let responses = await Self.burst(harness, count: 30)
        #expect(responses.count == 30)
        #expect(responses.filter { $0.status == 200 }.count == 7)
        let refused = responses.filter { $0.status == 429 }
        #expect(refused.count == 23)
        #expect(refused.allSatisfy { Int($0.header("retry-after") ?? "") ?? 0 >= 1 })
        #expect(refused.first?.json?["error"]?["code"]?.stringValue == "rate_limit_exceeded")
        // Another key is not affected.
        #expect(try await harness.chat(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#).status == 200)
    }

    /// An upstream that holds every request until `release`, then answers at once.
    final class HoldingUpstream: Sendable {
        let mock: MockUpstream
        let state: NIOLockedValueBox<(holding: Bool, held: [MockResponder], now: Int, peak: Int)>

        init() async throws {
            let state = NIOLockedValueBox<(holding: Bool, held: [MockResponder], now: Int, peak: Int)>((true, [], 0, 0))
            self.state = state
            mock = try await MockUpstream { _, respond in
                let hold = state.withLockedValue { s -> Bool in
                    s.now += 1
                    s.peak = max(s.peak, s.now)
                    if s.holding { s.held.append(respond) } else { s.now -= 1 }
                    return s.holding
                }
                if !hold { Self.answer(respond) }
            }
        }

        static func answer(_ respond: MockResponder) {
            respond.json(200, #"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#)
        }

        func release() {
            let held = state.withLockedValue { s -> [MockResponder] in
                s.holding = false
                s.now -= s.held.count
                defer { s.held = [] }
                return s.held
            }
            held.forEach(Self.answer)
        }
    }

    @Test func concurrencyHoldsUnderABurst() async throws {
        let upstream = try await HoldingUpstream()
        let harness = try await Self.harness("concurrency: 3", upstream: upstream.mock.baseURL)
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        let burst = Task { await Self.burst(harness, count: 12) }
        // Nine are refused at once; three wait upstream.
        let waiting = await GatewayHarness.eventually {
            harness.records.all.filter { $0.status == 429 }.count == 9 && upstream.mock.requests.count == 3
        }
        #expect(waiting)
        upstream.release()
        let responses = await burst.value
        #expect(responses.filter { $0.status == 200 }.count == 3)
        #expect(responses.filter { $0.status == 429 }.count == 9)
        #expect(upstream.state.withLockedValue { $0.peak } == 3)
        // Slots come back once requests end.
        let after = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-limited-key-123",
                                                   json: #"{"model":"m","messages":[]}"#)
        #expect(after.status == 200)
    }

    /// The minute's accounting, on the limiter's own clock (counted, never timed): requests are
    /// admitted while the tokens used stay under the limit, and a minute later there is room again.
    @Test func tokensPerMinuteCountUsage() {
        let limiter = KeyLimiter(keyName: "k", limits: KeyLimits(rpm: nil, tpm: 40, concurrency: nil))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
        var admitted = 0
        while admitted <= 20, case .success = limiter.admit(estimatedTokens: 3, now: start + .seconds(Int64(admitted))) {
            limiter.finish(reserved: 3, tokens: 7, now: start + .seconds(Int64(admitted)))
            admitted += 1
        }
        #expect(admitted == (40 + 7 - 1) / 7)
        guard case .failure(let refusal) = limiter.admit(estimatedTokens: 3, now: start + .seconds(30)) else {
            Issue.record("admitted past the limit")
            return
        }
        #expect(refusal.status == 429 && refusal.message.contains("tokens per minute"))
        if case .failure = limiter.admit(estimatedTokens: 3, now: start + .seconds(121)) { Issue.record("no room two minutes later") }
    }

    /// Through the gateway: the first request's usage fills the minute, so a burst right after is refused.
    @Test func tokensPerMinuteHoldUnderABurst() async throws {
        // mock-echo counts a word a token: this request uses more than 3.
        let harness = try await Self.harness("tpm: 3")
        defer { Task { await harness.stop() } }
        let body = #"{"model":"m","messages":[{"role":"user","content":"one two three"}]}"#
        let first = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-limited-key-123", json: body)
        #expect(first.status == 200 && (first.json?["usage"]?["total_tokens"]?.int64Value ?? 0) > 3)
        let refused = await Self.burst(harness, count: 10, body: body)
        #expect(refused.count == 10 && refused.allSatisfy { $0.status == 429 })
        #expect(refused.first?.json?["error"]?["message"]?.stringValue?.contains("tokens per minute") == true)
    }

    @Test func aBurstReservesTokensBeforeTheyAreCounted() async throws {
        let upstream = try await HoldingUpstream()
        let harness = try await Self.harness("tpm: 100", upstream: upstream.mock.baseURL)
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        // Each body is 200 bytes, an estimate of 50 tokens: two fit in flight, the rest wait their turn.
        let padding = String(repeating: "x", count: 200 - #"{"model":"m","messages":[{"role":"user","content":""}]}"#.utf8.count)
        let body = #"{"model":"m","messages":[{"role":"user","content":"\#(padding)"}]}"#
        let burst = Task { await Self.burst(harness, count: 20, body: body) }
        let waiting = await GatewayHarness.eventually { harness.records.all.filter { $0.status == 429 }.count == 18 }
        #expect(waiting)
        // The two admitted requests reach the upstream (on a loaded machine, possibly after the refusals).
        #expect(await GatewayHarness.eventually { upstream.mock.requests.count == 2 })
        #expect(upstream.mock.requests.count == 2)
        upstream.release()
        let responses = await burst.value
        #expect(responses.filter { $0.status == 200 }.count == 2)
        // Their real usage (2 tokens each) replaced the reservations.
        let after = try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", key: "sk-limited-key-123", json: body)
        #expect(after.status == 200)
    }

    @Test func limitsAnswerInTheRoutesDialect() async throws {
        let harness = try await Self.harness("rpm: 1")
        defer { Task { await harness.stop() } }
        _ = await Self.burst(harness, count: 1)
        let anthropic = try await harness.client.fetch(port: harness.port, path: "/v1/messages",
                                                       headers: [("x-api-key", "sk-limited-key-123")],
                                                       body: Array(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#.utf8))
        #expect(anthropic.status == 429 && anthropic.header("retry-after") != nil)
        #expect(anthropic.json?["error"]?["type"]?.stringValue == "rate_limit_error")
        let gemini = try await harness.client.fetch(port: harness.port, path: "/v1beta/models/m:generateContent",
                                                    headers: [("x-goog-api-key", "sk-limited-key-123")],
                                                    body: Array(#"{"contents":[{"parts":[{"text":"hi"}]}]}"#.utf8))
        #expect(gemini.status == 429 && gemini.header("retry-after") != nil)
        #expect(gemini.json?["error"]?["status"]?.stringValue == "RESOURCE_EXHAUSTED")
    }
}
