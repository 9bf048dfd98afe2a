import Foundation
import Testing
@testable import TollgateCore

/// OpenTelemetry tracing: spans per request, attempt and upstream call reach an OTLP/HTTP
/// receiver with the GenAI attributes; the client's trace is continued and passed upstream;
/// a failing exporter never touches requests.
@Suite struct TracingTests {
    static let clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let clientSpan = "00f067aa0ba902b7"
    static let ask = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#

    /// `gpt-4o` (channel `big`) answers 500, so `gpt-4o-mini` (channel `small`) serves as its fallback.
    static func start(_ endpoint: String, big: ScriptedUpstream, small: ScriptedUpstream,
                      queue: Int = 2048, delay: Duration = .milliseconds(20)) async throws -> GatewayHarness {
        try await GatewayHarness.start("""
            health: { probes: false }
            routing: { retries: 0 }
            fallbacks: { gpt-4o: [gpt-4o-mini] }
            channels:
              - { name: big, provider: openai, base_url: "\(big.baseURL)/v1", models: [gpt-4o] }
              - { name: small, provider: openai, base_url: "\(small.baseURL)/v1", models: [gpt-4o-mini] }
              - { name: echo, provider: mock, models: [mock-echo] }
            """) { config in
            config.tracing = TracingSettings(endpoint: endpoint)
            config.tracing.scheduleDelay = delay
            config.tracing.maxQueueSize = queue
        }
    }

    static func chat(_ harness: GatewayHarness, _ json: String = ask, traceparent: String?) async throws -> TestResponse {
        var headers = [("authorization", "Bearer \(GatewayHarness.clientKey)"), ("content-type", "application/json")]
        if let traceparent { headers.append(("traceparent", traceparent)) }
        return try await harness.client.fetch(port: harness.port, path: "/v1/chat/completions", headers: headers, body: Array(json.utf8))
    }

    @Test func spansOfARequestItsAttemptsAndUpstreamCallsArriveLinkedWithTheirAttributes() async throws {
        let receiver = try await OTLPReceiver.start()
        let big = try await ScriptedUpstream.start(.status(500, [], #"{"error":{"message":"down"}}"#))
        let small = try await ScriptedUpstream.start()
        let harness = try await Self.start(receiver.endpoint, big: big, small: small)
        defer { Task { await harness.stop(); await receiver.stop(); await big.stop(); await small.stop() } }

        let response = try await Self.chat(harness, traceparent: "00-\(Self.clientTrace)-\(Self.clientSpan)-01")
        #expect(response.status == 200 && response.header("x-tollgate-model") == "gpt-4o-mini", "\(response.text)")
        let spans = await receiver.waitForSpans(trace: Self.clientTrace, count: 5)
        #expect(spans.count == 5, "\(spans.map(\.name))")

        // The request: a server span continuing the client's trace, with the outcome.
        let request = try #require(spans.first { $0.name == "POST chat" })
        #expect(request.kind == 2 && request.parentSpanID == Self.clientSpan && request.serviceName == "tollgate")
        #expect(request.attributes["url.path"] == "/v1/chat/completions" && request.attributes["http.route"] == "chat")
        #expect(request.attributes["gen_ai.request.model"] == "gpt-4o" && request.attributes["gen_ai.response.model"] == "gpt-4o-mini")
        #expect(request.attributes["gen_ai.usage.input_tokens"] == "10" && request.attributes["gen_ai.usage.output_tokens"] == "5")
        #expect(request.attributes["tollgate.key.name"] == "tester" && request.attributes["tollgate.channel"] == "small")
        #expect(request.attributes["tollgate.fallback_from"] == "gpt-4o" && request.attributes["http.response.status_code"] == "200")
        #expect(request.attributes["tollgate.cost"] == response.header("x-tollgate-cost") && request.attributes["tollgate.cost"] != nil)

        // An attempt per channel tried, the failed one marked as an error.
        let attempts = spans.filter { $0.name.hasPrefix("attempt ") }.sorted { ($0.attributes["tollgate.attempt"] ?? "") < ($1.attributes["tollgate.attempt"] ?? "") }
        #expect(attempts.map(\.name) == ["attempt big", "attempt small"])
        #expect(attempts.allSatisfy { $0.parentSpanID == request.spanID })
        #expect(attempts.map(\.statusCode) == [2, 0])  // ERROR, UNSET
        #expect(attempts.map { $0.attributes["gen_ai.system"] } == ["openai", "openai"])
        #expect(attempts.map { $0.attributes["gen_ai.request.model"] } == ["gpt-4o", "gpt-4o-mini"])

        // Under each attempt its upstream call, a client span whose context went upstream.
        let calls = spans.filter { $0.kind == 3 }
        #expect(calls.count == 2)
        for (attempt, upstream) in zip(attempts, [big, small]) {
            let call = try #require(calls.first { $0.parentSpanID == attempt.spanID })
            #expect(call.attributes["tollgate.channel"] == attempt.attributes["tollgate.channel"])
            #expect(upstream.mock.requests.last?.header("traceparent") == "00-\(Self.clientTrace)-\(call.spanID)-01")
        }
        let failed = try #require(calls.first { $0.parentSpanID == attempts.first?.spanID })
        #expect(failed.attributes["http.response.status_code"] == "500" && failed.statusCode == 2)
        let served = try #require(calls.first { $0.parentSpanID == attempts.last?.spanID })
        #expect(served.name == "chat gpt-4o-mini" && served.attributes["gen_ai.usage.output_tokens"] == "5")

        // The key itself is never recorded, nor the client's authorization header sent upstream.
        #expect(!spans.contains { $0.attributes.values.contains { $0.contains(GatewayHarness.clientKey) } })
        #expect(small.mock.requests.last?.header("authorization") != "Bearer \(GatewayHarness.clientKey)")
    }

    @Test func withoutATraceparentOrWithAMalformedOneTheRequestStartsItsOwnTrace() async throws {
        let receiver = try await OTLPReceiver.start()
        let big = try await ScriptedUpstream.start()
        let small = try await ScriptedUpstream.start()
        let harness = try await Self.start(receiver.endpoint, big: big, small: small)
        defer { Task { await harness.stop(); await receiver.stop(); await big.stop(); await small.stop() } }

        let malformed: [String?] = [nil, "", "garbage", "00-\(Self.clientTrace)-\(Self.clientSpan)",
                                    "00-\(Self.clientTrace.uppercased())-\(Self.clientSpan)-01",
                                    "00-00000000000000000000000000000000-\(Self.clientSpan)-01",
                                    "00-\(Self.clientTrace)-0000000000000000-01", "ff-\(Self.clientTrace)-\(Self.clientSpan)-01",
                                    "00-\(Self.clientTrace)-\(Self.clientSpan)-01-extra", "00_\(Self.clientTrace)_\(Self.clientSpan)_01",
                                    String(repeating: "0", count: 4000)]
        for header in malformed {
            let response = try await Self.chat(harness, traceparent: header)
            #expect(response.status == 200, "\(header?.prefix(60) ?? "none"): \(response.text)")
            let sent = try #require(big.mock.requests.last?.header("traceparent"))
            #expect(TraceHeaders.isWellFormed(sent) && !sent.contains(Self.clientTrace), "\(sent)")
        }
        let spans = await receiver.waitForSpans(count: 3 * malformed.count)
        let requests = spans.filter { $0.kind == 2 }
        #expect(requests.count == malformed.count && requests.allSatisfy { $0.parentSpanID.isEmpty && $0.traceID != Self.clientTrace })
        #expect(Set(requests.map(\.traceID)).count == malformed.count, "each request is a trace of its own")
    }

    @Test func anExporterThatFailsOrIsStuckNeverDelaysRequestsAndDropsWhatItCannotHold() async throws {
        // Posts get 500s: requests are served as usual.
        let failing = try await OTLPReceiver.start(status: 500)
        let big = try await ScriptedUpstream.start()
        let small = try await ScriptedUpstream.start()
        let failingHarness = try await Self.start(failing.endpoint, big: big, small: small)
        for _ in 0..<5 { #expect(try await Self.chat(failingHarness, traceparent: nil).status == 200) }
        _ = await failing.waitForSpans(count: 1)
        #expect(failing.posts >= 1)
        await failingHarness.stop()
        await failing.stop()

        // Nothing listens: the same.
        let closed = try await ScriptedUpstream.closedPort()
        let downHarness = try await Self.start("http://127.0.0.1:\(closed)/v1/traces", big: big, small: small)
        for _ in 0..<5 { #expect(try await Self.chat(downHarness, traceparent: nil).status == 200) }
        await downHarness.stop()

        // The receiver holds its first post: spans past the queue's room are dropped, not kept.
        let stuck = try await OTLPReceiver.start(holding: true)
        let harness = try await Self.start(stuck.endpoint, big: big, small: small, queue: 4, delay: .seconds(3600))
        defer { Task { await harness.stop(); await stuck.stop(); await big.stop(); await small.stop() } }
        let sent = 40
        for _ in 0..<sent { #expect(try await Self.chat(harness, #"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#, traceparent: nil).status == 200) }
        _ = await stuck.waitForSpans(count: 4)  // the first batch, stuck
        stuck.release()
        await harness.gateway.stop()  // flushes what the queue holds
        let received = stuck.spans.count
        #expect(received >= 4 && received < 2 * sent, "\(received) of \(2 * sent) spans: the queue holds 4")
    }

    @Test func tracingIsOffWithoutAnEndpoint() async throws {
        let harness = try await GatewayHarness.start("channels: [{ name: echo, provider: mock, models: [mock-echo] }]") {
            $0.tracing = TracingSettings(environment: [:])
        }
        defer { Task { await harness.stop() } }
        #expect(harness.gateway.runtime.tracing == nil)
        #expect(try await harness.chat(#"{"model":"mock-echo","messages":[{"role":"user","content":"hi"}]}"#).status == 200)
    }

    @Test func theEndpointComesFromTheStandardVariables() {
        #expect(TracingSettings(environment: [:]).endpoint == nil)
        #expect(TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"]).endpoint == "http://c:4318/v1/traces")
        #expect(TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"]).endpoint == "http://c:4318/v1/traces")
        #expect(TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
                                              "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:1/x"]).endpoint == "http://t:1/x")
        #expect(TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"]).endpoint == nil)
        #expect(TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"]).endpoint == nil)
        #expect(TracingSettings(environment: ["OTEL_SERVICE_NAME": "edge"]).serviceName == "edge")
        #expect(TracingSettings(environment: [:]).serviceName == "tollgate")
    }

    @Test func anUnusableExporterSettingIsRefusedAtStart() async throws {
        for endpoint in ["not a url", "ftp://collector/v1/traces", "http://"] {
            #expect(throws: ConfigError.self) { _ = try RequestTracing.make(TracingSettings(endpoint: endpoint), logger: .init(label: "test")) }
        }
        // What swift-otel would stop the process for is refused first.
        for (variable, value) in [("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "GRPC"),
                                  ("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote"), ("OTEL_TRACES_SAMPLER", "xray")] {
            let settings = TracingSettings(environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", variable: value])
            #expect(throws: ConfigError.self) { _ = try RequestTracing.make(settings, logger: .init(label: "test")) }
        }
    }
}
