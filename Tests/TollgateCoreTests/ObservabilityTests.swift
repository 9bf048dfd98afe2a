import Foundation
import Testing
@testable import TollgateCore

/// What operators see: Prometheus metrics, the overhead header, structured request logs.
@Suite struct ObservabilityTests {
    @Test func overheadIsWrittenInMillisecondsWithThreeDecimals() {
        #expect(ModelCall.milliseconds(0) == "0.000")
        #expect(ModelCall.milliseconds(42_000) == "0.042")
        #expect(ModelCall.milliseconds(1_234_567) == "1.235")
        #expect(ModelCall.milliseconds(12_000_000_000) == "12000.000")
    }

    @Test func metricsCountRequestsTokensAndCost() async throws {
        let upstream = try await BillingGatewayTests.upstream()
        let h = try await GatewayHarness.start("""
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        defer { Task { await h.stop(); await upstream.stop() } }
        let answer = try await h.chat(#"{"model":"gpt-4o","messages":[]}"#)
        #expect(answer.header("x-tollgate-overhead-ms").flatMap(Double.init) != nil)
        _ = try await h.chat(#"{"model":"nope","messages":[]}"#)
        let metrics = try await h.client.fetch(port: h.port, method: "GET", path: "/metrics")
        #expect(metrics.status == 200 && metrics.header("content-type")?.hasPrefix("text/plain") == true)
        let text = metrics.text
        for line in [#"tollgate_requests_total{route="chat",model="gpt-4o",channel="up",status="200"} 1"#,
                     #"tollgate_requests_total{route="chat",model="",channel="",status="404"} 1"#,
                     #"tollgate_tokens_total{model="gpt-4o",kind="prompt"} 1000"#,
                     #"tollgate_tokens_total{model="gpt-4o",kind="cache_read"} 400"#,
                     #"tollgate_cost_total{model="gpt-4o",currency="USD"} 0.004000000"#,
                     #"tollgate_request_duration_seconds_count{model="gpt-4o",channel="up"} 1"#,
                     #"tollgate_overhead_seconds_count{} 1"#, "tollgate_ledger_queue_depth ", "tollgate_requests_in_flight ",
                     #"tollgate_channel_breaker_open{channel="up"} 0"#, #"tollgate_model_available{channel="up",model="gpt-4o"} 1"#,
                     #"tollgate_model_status{channel="up",model="gpt-4o",status="Available"} 1"#] {
            #expect(text.contains(line), "\(line)")
        }
    }

    /// Labels are numbered as they first come and the last ones are remembered: whatever the
    /// order (a run of the same, alternating, one coming back), each counts its own.
    @Test func requestsAreCountedByTheirLabelsInAnyOrder() {
        var numbering = GatewayMetrics.Numbering<String>()
        #expect(["a", "a", "b", "a", "c", "b", "b"].map { numbering.number($0) } == [0, 0, 1, 0, 2, 1, 1])
        #expect(numbering.numbers == ["a": 0, "b": 1, "c": 2])
        let metrics = GatewayMetrics()
        for (channel, status) in [("a", 200), ("a", 200), ("b", 200), ("a", 500), ("a", 200), ("b", 200), ("a", 500)] {
            metrics.record(RequestRecord(requestID: "r", route: "chat", model: "m", channel: channel, status: status,
                                         latencyNanos: 1_000_000, startedAtMillis: 0))
        }
        let text = metrics.render()
        for line in [#"tollgate_requests_total{route="chat",model="m",channel="a",status="200"} 3"#,
                     #"tollgate_requests_total{route="chat",model="m",channel="a",status="500"} 2"#,
                     #"tollgate_requests_total{route="chat",model="m",channel="b",status="200"} 2"#,
                     #"tollgate_request_duration_seconds_count{model="m",channel="a"} 5"#,
                     #"tollgate_request_duration_seconds_count{model="m",channel="b"} 2"#] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
    }

    /// Series are kept per model and channel; tokens, cost and unpriced requests are rendered by
    /// model, summed over its channels; buckets are cumulative.
    @Test func metricsByModelSumTheirChannels() {
        let metrics = GatewayMetrics()
        func record(channel: String, millis: Int64, ttfb: Int64?, usage: TokenUsage, cost: Money?) {
            metrics.record(RequestRecord(requestID: "r", route: "chat", model: "m", channel: channel, status: 200, usage: usage,
                                         bill: Bill(cost: cost), latencyNanos: millis * 1_000_000,
                                         firstByteNanos: ttfb.map { $0 * 1_000_000 }, startedAtMillis: 0))
        }
        record(channel: "a", millis: 3, ttfb: 1, usage: TokenUsage(prompt: 10, completion: 5), cost: Money(nanoUnits: 7, currency: "USD"))
        record(channel: "b", millis: 40, ttfb: nil, usage: TokenUsage(prompt: 1, cacheRead: 2), cost: Money(nanoUnits: 3, currency: "USD"))
        record(channel: "b", millis: 70_000, ttfb: nil, usage: TokenUsage(prompt: 4), cost: Money(nanoUnits: 1, currency: "EUR"))
        record(channel: "b", millis: 1, ttfb: nil, usage: TokenUsage(completion: 2), cost: nil)
        let text = metrics.render()
        for line in [#"tollgate_tokens_total{model="m",kind="prompt"} 15"#, #"tollgate_tokens_total{model="m",kind="completion"} 7"#,
                     #"tollgate_tokens_total{model="m",kind="cache_read"} 2"#,
                     #"tollgate_cost_total{model="m",currency="USD"} 0.000000010"#,
                     #"tollgate_cost_total{model="m",currency="EUR"} 0.000000001"#,
                     #"tollgate_unpriced_requests_total{model="m"} 1"#,
                     #"tollgate_request_duration_seconds_bucket{model="m",channel="b",le="0.001"} 1"#,
                     #"tollgate_request_duration_seconds_bucket{model="m",channel="b",le="0.05"} 2"#,
                     #"tollgate_request_duration_seconds_bucket{model="m",channel="b",le="60.0"} 2"#,
                     #"tollgate_request_duration_seconds_bucket{model="m",channel="b",le="+Inf"} 3"#,
                     #"tollgate_request_duration_seconds_bucket{model="m",channel="a",le="0.0025"} 0"#,
                     #"tollgate_request_duration_seconds_bucket{model="m",channel="a",le="0.005"} 1"#,
                     #"tollgate_time_to_first_byte_seconds_count{model="m",channel="a"} 1"#] {
            #expect(text.contains(line + "\n"), "\(line)")
        }
        #expect(!text.contains(#"tollgate_time_to_first_byte_seconds_count{model="m",channel="b"}"#))
        #expect(!text.contains("kind=\"cache_creation\""))
    }

    @Test func theRequestLogHasOneJSONLinePerRequestAndNoSecrets() async throws {
        let upstream = try await BillingGatewayTests.upstream()
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-requests-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        let h = try await GatewayHarness.start("""
        request_log: \(logFile)
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
        let answer = try await h.chat(#"{"model":"gpt-4o","messages":[{"role":"user","content":"a very private prompt"}]}"#)
        await h.stop()
        await upstream.stop()
        let lines = try String(contentsOfFile: logFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let line = try JSONParser.parse(String(lines[0]))
        #expect(line["request_id"]?.stringValue == answer.header("x-request-id"))
        #expect(line["key"]?.stringValue == "tester" && line["model"]?.stringValue == "gpt-4o" && line["channel"]?.stringValue == "up")
        #expect(line["status"]?.int64Value == 200 && line["prompt_tokens"]?.int64Value == 1000 && line["cost"] == .number("0.004000000"))
        #expect(line["latency_ms"] != nil)
        #expect(!lines[0].contains(GatewayHarness.clientKey) && !lines[0].contains("private prompt"))
    }
}
