import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import TollgateCore

/// A client hanging up cancels its upstream request by default and is billed what the upstream
/// reported or an estimate marked `estimated`; `limits.on_client_disconnect: drain` keeps reading
/// for the upstream's own usage. Cut streams and read timeouts are estimated too, never zero.
@Suite struct HangUpTests {
    /// A stream that sends one text chunk, then waits for the test (`rest` finishes it).
    final class HeldStream: Sendable {
        let responder = NIOLockedValueBox<MockResponder?>(nil)
        let mock: MockUpstream

        init() async throws {
            let box = responder
            mock = try await MockUpstream { _, respond in
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":null}]}"# + "\n\n")
                box.withLockedValue { $0 = respond }
            }
        }

        var held: MockResponder? { responder.withLockedValue { $0 } }

        func rest() {
            held?.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n")
            held?.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5}}"# + "\n\n")
            held?.chunk("data: [DONE]\n\n")
            held?.end()
        }
    }

    static func gateway(_ upstream: MockUpstream, limits: String = "", upstreamSettings: String = "") async throws -> GatewayHarness {
        try await GatewayHarness.start("""
        health: { probes: false }
        \(limits.isEmpty ? "" : "limits: { \(limits) }")
        \(upstreamSettings.isEmpty ? "" : "upstream: { \(upstreamSettings) }")
        channels:
          - { name: up, provider: openai, base_url: "\(upstream.baseURL)/v1", models: [gpt-4o] }
        """)
    }

    static let streamRequest = #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"tell me a long story"}]}"#

    /// An open stream's upstream connection keeps no request buffer (one is kept between
    /// complete answers only, for the next request): an idle stream costs its state, not the
    /// last request's bytes. A complete answer still in flight keeps it.
    @Test func anOpenStreamKeepsNoRequestBufferUpstream() async throws {
        let held = try await HeldStream()
        let harness = try await Self.gateway(held.mock)
        defer { Task { await harness.stop(); await held.mock.stop() } }
        let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")],
                                                  body: Array(Self.streamRequest.utf8))
        var kept: [Bool]?
        for try await part in parts {
            if case .body(let bytes) = part, kept == nil, String(decoding: bytes, as: UTF8.self).contains("hello") {
                kept = try await Self.keptRequestBuffers(harness)
                held.rest()
            }
        }
        #expect(kept == [false])

        let slow = NIOLockedValueBox<MockResponder?>(nil)
        let answer = #"{"id":"c2","object":"chat.completion","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#
        let complete = try await MockUpstream { _, respond in
            respond.head(200, [("content-type", "application/json"), ("content-length", String(answer.utf8.count))])
            slow.withLockedValue { $0 = respond }
        }
        let second = try await Self.gateway(complete)
        defer { Task { await second.stop(); await complete.stop() } }
        async let answered = second.chat(#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(await GatewayHarness.eventually { slow.withLockedValue { $0 } != nil })
        #expect(await GatewayHarness.eventually { (try? await Self.keptRequestBuffers(second)) == [true] })
        slow.withLockedValue { $0 }?.chunk(answer)
        slow.withLockedValue { $0 }?.end()
        #expect(try await answered.status == 200)
    }

    /// For each upstream connection in flight: whether it keeps a request buffer.
    static func keptRequestBuffers(_ harness: GatewayHarness) async throws -> [Bool] {
        var kept: [Bool] = []
        for pool in harness.gateway.runtime.pools.loopPools {
            kept += try await pool.loop.submit { pool.connectionsInFlight.map(\.keepsOutput) }.get()
        }
        return kept
    }

    /// Sends a stream request, reads until the first text arrived, then hangs up.
    static func hangUpAfterFirstText(_ harness: GatewayHarness) async throws -> String? {
        var requestID: String?
        let parts = try await harness.client.send(port: harness.port, path: "/v1/chat/completions",
                                                  headers: [("authorization", "Bearer \(GatewayHarness.clientKey)")],
                                                  body: Array(streamRequest.utf8))
        for try await part in parts {
            if case .head(_, let headers) = part { requestID = headers.first { $0.0 == "x-request-id" }?.1 }
            if case .body(let bytes) = part, String(decoding: bytes, as: UTF8.self).contains("hello") { break }
        }
        return requestID  // leaving the loop closes the connection
    }

    /// The estimate for what the held stream sent: the prompt from the body sent upstream, the
    /// completion from "hello" (5 bytes, 2 tokens).
    static func expectEstimated(_ record: RequestRecord, upstream: MockUpstream) {
        let sent = upstream.requests.first?.body.count ?? 0
        #expect(record.usage.estimated)
        #expect(record.usage.prompt == Int64((sent + 3) / 4) && record.usage.completion == 2)
        #expect((record.bill.cost?.nanoUnits ?? 0) > 0)
    }

    @Test func aHangUpCancelsTheUpstreamAndBillsAnEstimate() async throws {
        let upstream = try await HeldStream()
        let harness = try await Self.gateway(upstream.mock)
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        let requestID = try await Self.hangUpAfterFirstText(harness)
        // The gateway closes the upstream connection at once (nobody reads the rest).
        let closed = await GatewayHarness.eventually { upstream.held?.channel.isActive == false }
        #expect(closed)
        let record = try #require(await harness.records.waitFor(requestID))
        #expect(record.status == 499)
        Self.expectEstimated(record, upstream: upstream.mock)
        #expect(harness.gateway.runtime.clientHangUps == 1)
        // The record reaches recorders just before the request leaves the in-flight count (same
        // call, the gateway's loop): seen from here, the count may lag the record by a moment.
        #expect(await GatewayHarness.eventually { harness.gateway.runtime.inFlight == 0 })
        #expect(harness.health("up", "gpt-4o")?["adaptive_limit"]?["in_flight"]?.int64Value == 0)
        #expect(harness.status("up", "gpt-4o") == "Available")  // a hang-up is not the channel's fault
    }

    @Test func drainReadsTheAnswerToItsEndForTheUpstreamsUsage() async throws {
        let upstream = try await HeldStream()
        // The held stream stays silent until the test says: on a machine loaded enough to stretch
        // this test past the default read timeout (300 s), that timeout would close it first.
        let harness = try await Self.gateway(upstream.mock, limits: "on_client_disconnect: drain", upstreamSettings: "read_timeout: 24h")
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        let requestID = try await Self.hangUpAfterFirstText(harness)
        let noticed = await GatewayHarness.eventually { harness.gateway.runtime.clientHangUps == 1 }
        #expect(noticed)
        #expect(upstream.held?.channel.isActive == true)
        upstream.rest()
        let record = try #require(await harness.records.waitFor(requestID))
        #expect(record.status == 499)
        #expect(record.usage.prompt == 10 && record.usage.completion == 5 && !record.usage.estimated)
    }

    @Test func aCutStreamIsEstimatedNeverZero() async throws {
        let upstream = try await HeldStream()
        let harness = try await Self.gateway(upstream.mock)
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        async let answer = harness.chat(Self.streamRequest)
        let started = await GatewayHarness.eventually { upstream.held != nil }
        #expect(started)
        upstream.held?.close()  // mid-stream, before any usage
        let response = try await answer
        #expect(response.text.contains("hello") && response.text.contains("upstream_stream_error"))
        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.status == 502)
        Self.expectEstimated(record, upstream: upstream.mock)
    }

    @Test func aReadTimeoutIsEstimatedNeverZero() async throws {
        let upstream = try await HeldStream()
        let harness = try await Self.gateway(upstream.mock, upstreamSettings: "read_timeout: 200ms")
        defer { Task { await harness.stop(); await upstream.mock.stop() } }
        let response = try await harness.chat(Self.streamRequest)  // the upstream goes silent after "hello"
        #expect(response.text.contains("went silent"))
        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        Self.expectEstimated(record, upstream: upstream.mock)
    }

    @Test func streamedTextIsCountedAcrossPiecesAndEscapes() throws {
        let events = #"data: {"choices":[{"delta":{"content":"a\"b"}}]}"# + "\n\n" + #"data: {"delta":{"tool_calls":[{"function":{"arguments": "{\"x\":1}"}}]}}"#
        let bytes = Array(events.utf8)
        // Whole, split inside an escape, and split inside the arguments' string.
        let escape = try #require(events.range(of: #"a\"#)).upperBound, inside = try #require(events.range(of: #"{\"x"#)).upperBound
        for split in [0, events.utf8.distance(from: events.startIndex, to: escape), events.utf8.distance(from: events.startIndex, to: inside)] {
            var text = StreamedText()
            text.read(Array(bytes[..<split]))
            text.read(Array(bytes[split...]))
            #expect(text.bytes == 3 + 7)
        }
        var parts = StreamedText()
        parts.read(Array(#"{"content":[{"type":"text","text":"hi there"}],"usage":{}}"#.utf8))
        #expect(parts.bytes == 8)
        let none = UsageEstimate.complete(TokenUsage(prompt: 3, completion: 4), promptBytes: 100, completionTextBytes: 100, chat: true)
        #expect(none == TokenUsage(prompt: 3, completion: 4))
        let partial = UsageEstimate.complete(TokenUsage(prompt: 3), promptBytes: 100, completionTextBytes: 9, chat: true)
        #expect(partial.prompt == 3 && partial.completion == 3 && partial.estimated)
        #expect(UsageEstimate.complete(TokenUsage(), promptBytes: 8, completionTextBytes: 0, chat: false).completion == nil)
    }
}
