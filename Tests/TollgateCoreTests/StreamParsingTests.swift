import Testing
@testable import TollgateCore
@testable import TollgateShared

@Suite struct SSEParserTests {
    static let stream = "event: ping\ndata: {\"a\":1}\n\n: comment\r\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\n\n"

    func events(splitting text: String, at sizes: [Int]) throws -> [SSEEvent] {
        var parser = SSEParser(keepRaw: true)
        var events: [SSEEvent] = []
        let bytes = Array(text.utf8)
        var offset = 0
        var i = 0
        while offset < bytes.count {
            let size = max(1, sizes[i % sizes.count])
            let end = min(bytes.count, offset + size)
            try parser.feed(Array(bytes[offset..<end])) { events.append($0) }
            offset = end
            i += 1
        }
        return events
    }

    @Test func readsEventsWhateverTheSplit() throws {
        let whole = try events(splitting: Self.stream, at: [10_000])
        #expect(whole.count == 3)
        #expect(whole[0].name == Array("ping".utf8))
        #expect(whole[0].data == Array("{\"a\":1}".utf8))
        #expect(whole[1].data == Array("line1\nline2".utf8))
        #expect(whole[2].isDone)
        #expect(whole.map(\.raw).joined().count == Self.stream.utf8.count)
        for size in 1...12 {
            #expect(try fields(events(splitting: Self.stream, at: [size])) == fields(whole), "split every \(size) bytes")
        }
        #expect(try fields(events(splitting: Self.stream, at: [3, 1, 7, 2])) == fields(whole))
    }

    /// The LF of a CRLF whose CR ended one chunk and an event is the next event's first raw byte,
    /// marked as the line end before it; an unreported (comment-only) event hands it on.
    @Test func aSplitLineEndIsMarkedAsTheStreamsNotTheNextEvents() throws {
        var parser = SSEParser(keepRaw: true)
        var events: [SSEEvent] = []
        for part in ["data: a\r\n\r", "\n: ping\r\n\r", "\ndata: b\r\n\r\n"] {
            try parser.feed(Array(part.utf8)) { events.append($0) }
        }
        #expect(events.map(\.data) == [Array("a".utf8), Array("b".utf8)])
        #expect(events.map(\.leadingLineEnd) == [0, 1])
        #expect(String(decoding: events[1].raw, as: UTF8.self) == "\ndata: b\r\n\r\n")
        #expect(!parser.hasPartialEvent)
        var relay = SSEParser(keepRaw: true, reportsEmptyEvents: true)
        var raw: [UInt8] = []
        for part in ["data: a\r\n\r", "\n: ping\r\n\r", "\ndata: b\r\n\r\n"] {
            try relay.feed(Array(part.utf8)) { raw += $0.raw }
        }
        #expect(String(decoding: raw, as: UTF8.self) == "data: a\r\n\r\n: ping\r\n\r\ndata: b\r\n\r\n")
    }

    /// An event's size against `maxEventBytes` leaves out the blank line that ends it: cut between
    /// that line's CR and LF, the LF would count for the next event (found by FuzzSSE).
    @Test func theSizeLimitDoesNotDependOnTheSplit() {
        let bytes = Array("data: xxxx\r\n\r\ndata: yy\r\n\r\n".utf8)
        func tooLarge(_ parts: [ArraySlice<UInt8>], limit: Int) -> Bool {
            var parser = SSEParser(maxEventBytes: limit, keepRaw: true)
            do { for part in parts { try parser.feed(Array(part)) { _ in } } } catch { return true }
            return false
        }
        var refused = 0
        for limit in 8...16 {
            let whole = tooLarge([bytes[...]], limit: limit)
            if whole { refused += 1 }
            for cut in 1..<bytes.count {
                #expect(tooLarge([bytes[..<cut], bytes[cut...]], limit: limit) == whole, "limit \(limit), cut at \(cut)")
            }
        }
        #expect(refused == 4)  // "data: xxxx\r\n" is 12 bytes: limits 8-11 refuse it
    }

    /// Name, data and data-ness of each event, and every raw byte once: a CRLF split between two
    /// chunks ends its event at the CR, and the LF is kept with the next event's raw bytes.
    func fields(_ events: [SSEEvent]) -> [String] {
        events.map { "\($0.name)|\($0.data)|\($0.hasData)" } + ["\(Array(events.map(\.raw).joined()))"]
    }

    /// WHATWG: CR, LF and CRLF each end a line, in any mix, whatever the split.
    @Test func loneCRAndMixedLineEnds() throws {
        let stream = "data: a\rdata: b\r\rdata: c\r\n\r\ndata: d\n\revent: e\rdata: f\r\n\n"
        let whole = try events(splitting: stream, at: [10_000])
        #expect(whole.map { String(decoding: $0.data, as: UTF8.self) } == ["a\nb", "c", "d", "f"])
        #expect(whole[3].name == Array("e".utf8))
        for size in 1...9 {
            #expect(try fields(events(splitting: stream, at: [size])) == fields(whole), "split every \(size) bytes")
        }
    }

    /// A CR last in one chunk and an LF first in the next are one line end, not a blank line.
    @Test func crlfSplitAcrossChunksIsOneLineEnd() throws {
        var parser = SSEParser(keepRaw: true)
        var events: [SSEEvent] = []
        try parser.feed(Array("data: 1\r".utf8)) { events.append($0) }
        try parser.feed(Array("\ndata: 2\r".utf8)) { events.append($0) }
        try parser.feed(Array("\n\r".utf8)) { events.append($0) }
        #expect(events.count == 1 && events[0].data == Array("1\n2".utf8))
        try parser.feed(Array("\n".utf8)) { events.append($0) }
        #expect(events.count == 1, "the LF after a CR that ended the event is not another blank line")
        #expect(parser.finish()?.raw == Array("\n".utf8), "the relay still gets that LF")
    }

    /// Malformed lines: a field with no colon, unknown fields, a bare colon, stray CRs; none throws.
    @Test func readsMalformedLinesLeniently() throws {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        try parser.feed(Array("data\rretry: x\r:\r\r\r\r\rdatax: 1\rdata:no space\r\r".utf8)) { events.append($0) }
        #expect(events.count == 2)
        #expect(events[0].hasData && events[0].data.isEmpty, "`data` alone is an empty data line")
        #expect(events[1].data == Array("no space".utf8))
    }

    /// The bound counts line ends too, and lines ended by a lone CR are bounded like any other.
    @Test func boundsAnEventWithLoneCRs() {
        var parser = SSEParser(maxEventBytes: 16)
        #expect(throws: SSEParser.TooLarge.self) {
            try parser.feed(Array("data: 0123\rdata: 4567\r".utf8)) { _ in }
        }
        var endless = SSEParser(maxEventBytes: 64)
        #expect(throws: SSEParser.TooLarge.self) {
            for _ in 0..<100 { try endless.feed(Array("data: x\r".utf8)) { _ in } }
        }
    }

    /// What a raw relay needs (the Claude passthrough): empty events reported too, and the
    /// pending event read at the end of the stream.
    @Test func reportsEmptyEventsAndFinishes() throws {
        var parser = SSEParser(reportsEmptyEvents: true)
        var events: [SSEEvent] = []
        try parser.feed(Array(": hello\n\nevent: a\ndata: 1\ndata:2\nid: 7\n\ndata: x".utf8)) { events.append($0) }
        #expect(events.count == 2)
        #expect(events[0].isEmpty)
        #expect(events[1].name == Array("a".utf8) && events[1].data == Array("1\n2".utf8) && events[1].hasData)
        #expect(parser.hasPartialEvent)
        #expect(parser.finish()?.data == Array("x".utf8))
        #expect(!parser.hasPartialEvent)
        #expect(parser.finish() == nil)

        var quiet = SSEParser(keepRaw: true)
        var seen: [SSEEvent] = []
        try quiet.feed(Array(": hello\n\ndata:\n\n: only a comment\n".utf8)) { seen.append($0) }
        #expect(seen.count == 1 && seen[0].hasData && seen[0].data.isEmpty, "an empty data line is data; a comment is not an event")
        let last = quiet.finish()
        #expect(last?.isEmpty == true && last?.raw == Array(": only a comment\n".utf8))
    }

    @Test func boundsAnEvent() {
        var parser = SSEParser(maxEventBytes: 16)
        #expect(throws: SSEParser.TooLarge.self) {
            try parser.feed(Array("data: 0123456789abcdef".utf8)) { _ in }
        }
    }
}

@Suite struct OpenAIStreamMeterTests {
    static let chunk = #"data: {"id":"1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}"# + "\n\n"
    static let usageChunk = #"data: {"id":"1","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}"# + "\n\n"
    static let done = "data: [DONE]\n\n"

    @Test func readsUsageWithoutChangingTheStream() throws {
        var meter = OpenAIStreamMeter(stripUsageChunk: false)
        let bytes = Array((Self.chunk + Self.usageChunk + Self.done).utf8)
        for i in stride(from: 0, to: bytes.count, by: 5) {
            let out = try Array(bytes[i..<min(bytes.count, i + 5)]).withUnsafeBytes { try meter.read($0) }
            #expect(out == nil)
        }
        #expect(meter.usage.prompt == 11)
        #expect(meter.usage.completion == 7)
        #expect(meter.usage.cacheRead == 4)
        #expect(meter.usage.reasoning == 2)
        #expect(meter.sawDone)
    }

    @Test func stripsOnlyTheUsageChunk() throws {
        var meter = OpenAIStreamMeter(stripUsageChunk: true)
        var forwarded: [UInt8] = []
        for byte in Array((Self.chunk + Self.usageChunk + Self.done).utf8) {
            forwarded += try [byte].withUnsafeBytes { try meter.read($0) } ?? []
        }
        #expect(String(decoding: forwarded, as: UTF8.self) == Self.chunk + Self.done)
        #expect(meter.usage.prompt == 11)
    }

    /// A CRLF stream cut between an event's last CR and its LF (found by FuzzStreams): the LF
    /// arrives after the event was sent. It is still forwarded, and only when that event was:
    /// whatever follows (the dropped usage chunk, a comment, nothing).
    @Test func aLineEndSplitAcrossChunksIsForwardedWhateverFollows() throws {
        let crlf = { (text: String) in text.replacingOccurrences(of: "\n", with: "\r\n") }
        let stream = crlf(Self.chunk) + ": ping\r\n\r\n" + crlf(Self.chunk) + crlf(Self.usageChunk) + crlf(Self.done)
        let expected = Array((crlf(Self.chunk) + ": ping\r\n\r\n" + crlf(Self.chunk) + crlf(Self.done)).utf8)
        let bytes = Array(stream.utf8)
        var checked = 0
        for cut in 1..<bytes.count {
            var meter = OpenAIStreamMeter(stripUsageChunk: true)
            var forwarded: [UInt8] = []
            for part in [bytes[..<cut], bytes[cut...]] { forwarded += try Array(part).withUnsafeBytes { try meter.read($0) } ?? [] }
            // Every byte but the usage chunk's, once, the keep-alive comment too.
            #expect(forwarded == expected, "cut at \(cut)")
            #expect(meter.usage.prompt == 11)
            checked += 1
        }
        #expect(checked == bytes.count - 1)
    }

    @Test func ignoresTheWordUsageInContent() {
        #expect(!OpenAIStreamMeter.hasUsageObject(Array(#"{"delta":{"content":"\"usage\": {"}}"#.utf8)))
        #expect(OpenAIStreamMeter.usageObject(in: Array(#"{"delta":{"content":"\"usage\": {"},"usage":null}"#.utf8)) == nil)
    }
}
