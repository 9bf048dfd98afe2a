import Testing
@testable import BedrockPlugin

/// A ConverseStream-like stream (headers as Bedrock sends them) and frame surgery helpers.
enum Sample {
    static let messages: [EventStreamMessage] = [
        .event("messageStart", payload: Array(#"{"p":"abcd","role":"assistant"}"#.utf8)),
        .event("contentBlockDelta", payload: Array(#"{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"ab"}"#.utf8)),
        .event("contentBlockDelta", payload: Array(#"{"contentBlockIndex":0,"delta":{"text":"lo"}}"#.utf8)),
        .event("contentBlockStop", payload: Array(#"{"contentBlockIndex":0}"#.utf8)),
        .event("messageStop", payload: Array(#"{"stopReason":"end_turn"}"#.utf8)),
        .event("metadata", payload: Array(#"{"metrics":{"latencyMs":312},"usage":{"inputTokens":9,"outputTokens":2,"totalTokens":11}}"#.utf8)),
    ]

    static func stream(_ messages: [EventStreamMessage] = messages) throws -> [UInt8] {
        try messages.flatMap { try EventStreamEncoder.encode($0) }
    }

    static func decodeAll(_ bytes: [UInt8], pieces: [Int]) throws -> [EventStreamMessage] {
        var decoder = EventStreamDecoder()
        var out: [EventStreamMessage] = []
        var offset = 0
        for size in pieces + [bytes.count] where offset < bytes.count {
            let end = min(bytes.count, offset + size)
            out += try decoder.feed(bytes[offset..<end])
            offset = end
        }
        try decoder.finish()
        return out
    }
}

@Suite struct EventStreamDecoderTests {
    static let everyHeaderType: [(String, EventStreamHeaderValue)] = [
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("byte", .byte(-7)),
        ("int16", .int16(-12_345)),
        ("int32", .int32(Int32.min)),
        ("int64", .int64(Int64.max)),
        ("bytes", .bytes([0, 1, 0xFF, 0x80])),
        ("empty-bytes", .bytes([])),
        ("string", .string("héllo ✓")),
        (":timestamp", .timestamp(1_440_938_160_123)),
        ("uuid", .uuid(EventStreamUUID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210))),
    ]

    @Test func roundTripsEveryHeaderType() throws {
        let payload = Array("payload ✓".utf8)
        let frame = try EventStreamEncoder.encode(headers: Self.everyHeaderType, payload: payload)
        var decoder = EventStreamDecoder()
        let messages = try decoder.feed(frame)
        #expect(messages.count == 1)
        #expect(messages.first?.payload == payload)
        #expect(messages.first?.headers == Dictionary(uniqueKeysWithValues: Self.everyHeaderType.map { ($0.0, $0.1) }))
        // Re-encoding the decoded message (sorted headers) decodes to the same message.
        let again = try decoder.feed(try EventStreamEncoder.encode(try #require(messages.first)))
        #expect(again == messages)
        try decoder.finish()
    }

    /// Frames computed independently with Python's struct and zlib.crc32.
    @Test func encodesKnownFrames() throws {
        #expect(try EventStreamEncoder.encode(headers: [], payload: []) == hex("000000100000000005c248eb7d98c8ff"))
        let frame = try EventStreamEncoder.encode(headers: [(":message-type", .string("event"))], payload: Array(#"{"a":1}"#.utf8))
        #expect(frame == hex("0000002d00000016a8a7818d0d3a6d6573736167652d747970650700056576656e747b2261223a317deaf55e15"))
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(hex("000000100000000005c248eb7d98c8ff")) == [EventStreamMessage()])
    }

    @Test func encodesHeaderValuesBigEndian() throws {
        let frame = try EventStreamEncoder.encode(headers: [("n", .int32(0x0102_0304)), ("s", .int16(0x0506)), ("t", .timestamp(0x0708))],
                                                  payload: [])
        #expect(Array(frame[12..<(frame.count - 4)]) == [1, 0x6E, 4, 1, 2, 3, 4, 1, 0x73, 3, 5, 6, 1, 0x74, 8, 0, 0, 0, 0, 0, 0, 7, 8])
    }

    @Test func decodesWhateverTheSplit() throws {
        let bytes = try Sample.stream()
        let whole = try Sample.decodeAll(bytes, pieces: [bytes.count])
        #expect(whole == Sample.messages)
        for split in 0...bytes.count {
            #expect(try Sample.decodeAll(bytes, pieces: [split]) == whole, "split at \(split)")
        }
        #expect(try Sample.decodeAll(bytes, pieces: Array(repeating: 1, count: bytes.count)) == whole)
        for size in [2, 3, 5, 7, 11, 13, 17, 64] {
            #expect(try Sample.decodeAll(bytes, pieces: Array(repeating: size, count: bytes.count)) == whole, "pieces of \(size)")
        }
    }

    /// Every pair of split points over three small messages: each frame boundary and prelude
    /// edge lands in every piece.
    @Test func decodesEveryThreeWaySplit() throws {
        let messages = [EventStreamMessage(headers: ["a": .string("b")], payload: Array("xyz".utf8)),
                        EventStreamMessage(), EventStreamMessage(headers: ["n": .int16(3)], payload: [0, 1])]
        let bytes = try Sample.stream(messages)
        for a in 0...bytes.count {
            for b in a...bytes.count {
                let decoded = try Sample.decodeAll(bytes, pieces: [a, b - a])
                if decoded != messages {
                    Issue.record("splits at \(a) and \(b)")
                    return
                }
            }
        }
    }

    @Test func emitsEachMessageAsSoonAsItsLastByteArrives() throws {
        let first = try EventStreamEncoder.encode(Sample.messages[0])
        let rest = try Sample.stream(Array(Sample.messages.dropFirst()))
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(first.dropLast()).isEmpty)
        #expect(decoder.bufferedByteCount == first.count - 1)
        #expect(try decoder.feed(first.suffix(1)) == [Sample.messages[0]])
        #expect(decoder.bufferedByteCount == 0)
        #expect(try decoder.feed(rest + first.prefix(5)) == Array(Sample.messages.dropFirst()))
        #expect(decoder.bufferedByteCount == 5)
    }

    @Test func pullsMessagesOneByOneKeepingThoseBeforeAFailure() throws {
        var bytes = try Sample.stream(Array(Sample.messages.prefix(2)))
        bytes[bytes.count - 1] ^= 0xFF // the second frame's message CRC
        var decoder = EventStreamDecoder()
        try decoder.append(bytes)
        #expect(try decoder.next() == Sample.messages[0])
        #expect(throws: EventStreamError.self) { try decoder.next() }
    }

    // MARK: Corruption

    @Test func aCorruptedPayloadByteFailsTheMessageCRC() throws {
        var bytes = try Sample.stream()
        let firstLength = try EventStreamEncoder.encode(Sample.messages[0]).count
        bytes[firstLength + 30] ^= 0x01 // inside the second message's headers or payload
        var decoder = EventStreamDecoder()
        let error = try #require(throws: EventStreamError.self) { _ = try decoder.feed(bytes) }
        guard case .messageChecksumMismatch(let expected, let computed) = error else {
            Issue.record("expected a message CRC error, got \(error)")
            return
        }
        #expect(expected != computed)
        #expect(error.description.contains("message CRC32 mismatch"))
    }

    /// Any flipped bit after the prelude (headers, payload or the CRC itself) is caught.
    @Test func everyCorruptedByteAfterThePreludeFailsTheMessageCRC() throws {
        let frame = try EventStreamEncoder.encode(Sample.messages[1])
        for i in 12..<frame.count {
            var bad = frame
            bad[i] ^= 0x40
            var decoder = EventStreamDecoder()
            let error = try #require(throws: EventStreamError.self) { _ = try decoder.feed(bad) }
            guard case .messageChecksumMismatch = error else {
                Issue.record("byte \(i): expected a message CRC error, got \(error)")
                continue
            }
        }
    }

    @Test func aCorruptedPreludeFailsThePreludeCRC() throws {
        for i in 0..<12 {
            var bytes = try Sample.stream()
            bytes[i] ^= 0x10
            var decoder = EventStreamDecoder()
            let error = try #require(throws: EventStreamError.self) { _ = try decoder.feed(bytes.prefix(12)) }
            guard case .preludeChecksumMismatch = error else {
                Issue.record("byte \(i): expected a prelude CRC error, got \(error)")
                continue
            }
            #expect(error.description.contains("prelude CRC32 mismatch"))
        }
    }

    @Test func theDecoderStaysFailed() throws {
        var bytes = try Sample.stream()
        bytes[3] ^= 0x01
        var decoder = EventStreamDecoder()
        let first = try #require(throws: EventStreamError.self) { _ = try decoder.feed(bytes) }
        let good = try EventStreamEncoder.encode(Sample.messages[0])
        #expect(throws: first) { _ = try decoder.feed(good) }
        #expect(throws: first) { try decoder.next() }
        #expect(throws: first) { try decoder.finish() }
    }

    @Test func refusesAnOversizeFrameFromItsPrelude() throws {
        var decoder = EventStreamDecoder()
        #expect(decoder.maxMessageLength == 16 * 1024 * 1024)
        #expect(throws: EventStreamError.messageTooLong(length: 16 * 1024 * 1024 + 1, limit: 16 * 1024 * 1024)) {
            _ = try decoder.feed(prelude(total: 16 * 1024 * 1024 + 1, headers: 0))
        }
        var small = EventStreamDecoder(maxMessageLength: 64)
        let frame = try EventStreamEncoder.encode(headers: [], payload: Array(repeating: 0x61, count: 49))
        #expect(throws: EventStreamError.messageTooLong(length: 65, limit: 64)) { _ = try small.feed(frame.prefix(12)) }
        var exact = EventStreamDecoder(maxMessageLength: 65)
        #expect(try exact.feed(frame).count == 1)
        var huge = EventStreamDecoder()
        #expect(throws: EventStreamError.messageTooLong(length: Int(UInt32.max), limit: 16 * 1024 * 1024)) {
            _ = try huge.feed(prelude(total: UInt32.max, headers: 0))
        }
    }

    @Test func refusesInconsistentLengths() throws {
        var short = EventStreamDecoder()
        #expect(throws: EventStreamError.messageTooShort(length: 15)) { _ = try short.feed(prelude(total: 15, headers: 0)) }
        var zero = EventStreamDecoder()
        #expect(throws: EventStreamError.messageTooShort(length: 0)) { _ = try zero.feed(prelude(total: 0, headers: 0)) }
        var headers = EventStreamDecoder()
        #expect(throws: EventStreamError.headersLengthMismatch(headersLength: 5, messageLength: 20)) {
            _ = try headers.feed(prelude(total: 20, headers: 5))
        }
        #expect(EventStreamError.headersLengthMismatch(headersLength: 5, messageLength: 20).description
            == "event stream: headers length 5 does not fit in a 20-byte message")
    }

    @Test func aStreamEndingInsideAFrameIsTruncated() throws {
        let bytes = try Sample.stream()
        let firstLength = try EventStreamEncoder.encode(Sample.messages[0]).count
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(bytes.prefix(firstLength + 7)).count == 1)
        #expect(throws: EventStreamError.truncated(bufferedBytes: 7)) { try decoder.finish() }
        var prelude = EventStreamDecoder()
        _ = try prelude.feed(bytes.prefix(3))
        #expect(throws: EventStreamError.truncated(bufferedBytes: 3)) { try prelude.finish() }
        let empty = EventStreamDecoder()
        try empty.finish()
    }

    @Test func refusesMalformedHeadersBehindValidCRCs() throws {
        func frame(headers: [UInt8]) -> [UInt8] {
            var f = prelude(total: UInt32(16 + headers.count), headers: UInt32(headers.count)) + headers
            f += bigEndian(CRC32.checksum(f))
            return f
        }
        let cases: [([UInt8], String)] = [
            ([1, 0x61, 10], "unknown value type 10"),
            ([1, 0x61, 7, 0, 5, 0x61], "runs past the end"),
            ([0, 0], "name is empty"),
            ([3, 0x61], "runs past the end"),
            ([1, 0x61, 7, 0, 2, 0xC3, 0x28], "is not UTF-8"),
            ([1, 0x61, 9, 1, 2, 3], "runs past the end"),
        ]
        for (headers, reason) in cases {
            var decoder = EventStreamDecoder()
            let error = try #require(throws: EventStreamError.self) { _ = try decoder.feed(frame(headers: headers)) }
            guard case .malformedHeader(let message) = error else {
                Issue.record("\(headers): expected a malformed header error, got \(error)")
                continue
            }
            #expect(message.contains(reason), "\(message)")
        }
    }

    @Test func laterDuplicateHeadersWin() throws {
        let frame = try EventStreamEncoder.encode(headers: [("a", .int32(1)), ("a", .int32(2))], payload: [])
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(frame).first?.headers == ["a": .int32(2)])
    }

    @Test func theEncoderRefusesWhatTheFormatCannotCarry() {
        #expect(throws: EventStreamError.self) { try EventStreamEncoder.encode(headers: [("", .bool(true))], payload: []) }
        #expect(throws: EventStreamError.self) {
            try EventStreamEncoder.encode(headers: [(String(repeating: "n", count: 256), .bool(true))], payload: [])
        }
        #expect(throws: EventStreamError.self) {
            try EventStreamEncoder.encode(headers: [("s", .string(String(repeating: "x", count: 65_536)))], payload: [])
        }
        #expect(throws: EventStreamError.self) {
            try EventStreamEncoder.encode(headers: [("b", .bytes(Array(repeating: 0, count: 65_536)))], payload: [])
        }
        #expect(throws: Never.self) {
            try EventStreamEncoder.encode(headers: [(String(repeating: "n", count: 255), .string(String(repeating: "x", count: 65_535)))],
                                          payload: [])
        }
    }

    @Test func largeFramesAndByteAtATimeFeedingStayLinear() throws {
        let big = EventStreamMessage.event("chunk", payload: Array(repeating: 0x7A, count: 300_000))
        let bytes = try Sample.stream([big, Sample.messages[0], big])
        var decoder = EventStreamDecoder()
        var count = 0
        for b in bytes { count += try decoder.feed(CollectionOfOne(b)).count }
        #expect(count == 3)
        try decoder.finish()
    }
}

// MARK: Helpers

/// A 12-byte prelude with a correct CRC, for lengths no real frame follows.
func prelude(total: UInt32, headers: UInt32) -> [UInt8] {
    let head = bigEndian(total) + bigEndian(headers)
    return head + bigEndian(CRC32.checksum(head))
}

func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

func hex(_ s: String) -> [UInt8] {
    let chars = Array(s.utf8)
    return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(decoding: chars[$0..<($0 + 2)], as: UTF8.self), radix: 16) ?? 0 }
}
