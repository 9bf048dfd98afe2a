import NIOCore
import NIOHTTP1
import Testing
@testable import TollgateCore

/// The gateway's reader of upstream answers: framing by RFC 9112, the same parts however the
/// bytes are split across reads, and a clear failure for whatever an upstream gets wrong.
@Suite struct AnswerParserTests {
    /// What a parser made of an answer: its head, body bytes, how it ended.
    struct Read: Equatable {
        var status: Int?
        var fields: [String] = []
        var body: [UInt8] = []
        var heads = 0
        var end: Bool?  // reusable
        var failure: String?
    }

    /// Feeds `bytes` in reads cut at `cuts`, then the connection's close when `close`.
    static func read(_ bytes: [UInt8], cuts: [Int] = [], method: HTTPMethod = .POST, close: Bool = false) -> Read {
        var parser = AnswerParser()
        parser.expect(method: method)
        var read = Read()
        func take(_ part: AnswerParser.Part) {
            switch part {
            case .head(let head):
                read.heads += 1
                read.status = Int(head.status.code)
                read.fields = head.fields.map { "\($0.0)=\($0.1)" }
            case .body(let buffer): read.body += buffer.readableBytesView
            case .end(let reusable): read.end = reusable
            }
        }
        var start = 0
        do {
            for end in cuts + [bytes.count] where end >= start {
                var buffer = ByteBuffer(bytes: bytes[start..<end])
                start = end
                // As the connection does: the rest of a read that ends an answer is dropped; a
                // later read goes to the parser, which has no request out.
                if read.end != nil { _ = try parser.next(&buffer); continue }
                while let part = try parser.next(&buffer) {
                    take(part)
                    if case .end = part { break }
                }
            }
            if close, let part = try parser.finish() { take(part) }
        } catch {
            read.failure = "\(error)"
        }
        return read
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let answers: [(String, Read)] = [
        ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
         Read(status: 200, fields: ["Content-Type=application/json", "Content-Length=7"], body: bytes("{\"a\":1}"), heads: 1, end: true)),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0006 \r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
         Read(status: 200, fields: ["Transfer-Encoding=chunked"], body: bytes("hello world"), heads: 1, end: true)),
        // Lone LFs end lines too (RFC 9112 §2.2); field values lose the whitespace around them.
        ("HTTP/1.1 429 Too Many Requests\nretry-after:  3 \t\ncontent-length: 2\n\nno",
         Read(status: 429, fields: ["retry-after=3", "content-length=2"], body: bytes("no"), heads: 1, end: true)),
        ("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
         Read(status: 201, fields: ["Content-Length=0"], heads: 1, end: true)),
        ("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", Read(status: 204, fields: ["Content-Length=10"], heads: 1, end: true)),
        ("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
         Read(status: 200, fields: ["Connection=close", "Content-Length=1"], body: bytes("x"), heads: 1, end: false)),
        ("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", Read(status: 200, fields: ["Content-Length=1"], body: bytes("x"), heads: 1, end: false)),
        ("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
         Read(status: 200, fields: ["Connection=Keep-Alive", "Content-Length=1"], body: bytes("x"), heads: 1, end: true)),
        ("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc", Read(status: 200, fields: ["Content-Length=3, 3"], body: bytes("abc"), heads: 1, end: true)),
        // Chunked beside a length: chunked frames it; the connection is not trusted again.
        ("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
         Read(status: 200, fields: ["Content-Length=99", "Transfer-Encoding=chunked"], body: bytes("z"), heads: 1, end: false)),
        ("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", Read(status: 200, fields: ["Content-Length=0"], heads: 1, end: true)),
        ("HTTP/1.1 599 Odd \u{00e9}t\u{00e9}\r\ncontent-length: 0\r\n\r\n", Read(status: 599, fields: ["content-length=0"], heads: 1, end: true)),
    ]

    @Test func answersAreFramedAsRFC9112Says() {
        for (text, expected) in Self.answers {
            #expect(Self.read(Self.bytes(text)) == expected, "\(text)")
        }
    }

    /// The parts come out the same however reads split the bytes: at each byte, and in two cuts.
    @Test func anySplitReadsTheSameAnswer() {
        for (text, expected) in Self.answers {
            let bytes = Self.bytes(text)
            for cut in 0...bytes.count {
                #expect(Self.read(bytes, cuts: [cut]) == expected, "\(text) cut at \(cut)")
            }
            #expect(Self.read(bytes, cuts: Array(0...bytes.count)) == expected, "\(text) a byte a read")
        }
    }

    /// Bytes past an answer's end are not the next answer's: in the same read, the connection is
    /// not used again; in a later one, with no request out, they fail it.
    @Test func bytesPastTheEndAreNeverTheNextAnswer() {
        let bytes = Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n")
        let whole = Self.read(bytes)
        #expect(whole == Read(status: 200, fields: ["Content-Length=1"], body: Self.bytes("x"), heads: 1, end: false))
        let split = Self.read(bytes, cuts: [bytes.firstIndex(of: UInt8(ascii: "x"))! + 1])
        #expect(split.end == true && split.failure?.contains("no request out") == true)
    }

    @Test func aBodyWithoutLengthEndsWithTheConnection() {
        let bytes = Self.bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it")
        #expect(Self.read(bytes, close: true) == Read(status: 200, fields: ["Content-Type=text/plain"], body: Self.bytes("all of it"), heads: 1, end: false))
        // a transfer coding that is not chunked, or any on HTTP/1.0, frames nothing either
        let gzip = Self.read(Self.bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz"), close: true)
        #expect(gzip.body == Self.bytes("zz") && gzip.end == false)
        let old = Self.read(Self.bytes("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz"), close: true)
        #expect(old.body == Self.bytes("1\r\nz") && old.end == false)
    }

    @Test func aHeadRequestsAnswerHasNoBody() {
        let read = Self.read(Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), method: .HEAD)
        #expect(read == Read(status: 200, fields: ["Content-Length=5"], heads: 1, end: true))
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "closed before the answer ended"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "closed before the answer ended"),
        ("HTTP/1.1 200 OK\r\nContent-", "closed before the answer ended"),
    ])
    func anAnswerCutByTheCloseFails(text: String, failure: String) {
        #expect(Self.read(Self.bytes(text), close: true).failure?.contains(failure) == true)
    }

    @Test func aCloseBeforeAnyByteIsLeftToTheConnection() throws {
        var parser = AnswerParser()
        parser.expect(method: .POST)
        #expect(try parser.finish() == nil)
    }

    @Test(arguments: [
        ("HTTP/2 200 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 20 OK\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 099 Low\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 200OK\r\n\r\n", "malformed status line"),
        ("\r\nHTTP/1.1 200 OK\r\n\r\n", "malformed status line"),
        ("garbage\u{0}\r\n\r\n", "malformed status line"),
        ("HTTP/1.1 200 O\u{1}K\r\n\r\n", "reason holds a control character"),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        ("HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", "obsolete line folding"),
        ("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", "malformed field line"),
        ("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "malformed field line"),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "malformed field line"),
        ("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "a field value holds a control character"),
        ("HTTP/1.1 200 OK\r\nX: a\u{0}\r\n\r\n", "a field value holds a control character"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting content-length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", "conflicting content-length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "is not a length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", "is not a length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "is not a length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n", "is not a length"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "chunked twice"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size line has no size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "chunk size line has no size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", "text after its size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "more than 15 digits"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", "longer than its size"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\rb", "longer than its size"),
    ])
    func malformedAnswersFailWithTheReason(text: String, failure: String) {
        let read = Self.read(Self.bytes(text))
        #expect(read.failure?.contains(failure) == true, "\(read.failure ?? "no failure")")
        #expect(read.end == nil)
    }

    @Test func headsAndChunkLinesHaveALimit() {
        let filler = String(repeating: "x", count: 1000)
        var large = "HTTP/1.1 200 OK\r\n"
        for i in 0..<90 { large += "X-\(i): \(filler)\r\n" }
        #expect(Self.read(Self.bytes(large + "\r\n")).failure?.contains("head is longer than") == true)
        // the same, one line never ending: refused once the limit is passed, not held
        #expect(Self.read(Self.bytes("HTTP/1.1 200 OK\r\nX: " + String(repeating: "y", count: HeadInProgress.maxBytes))).failure?
            .contains("head is longer than") == true)
        let chunkLine = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000)
        #expect(Self.read(Self.bytes(chunkLine)).failure?.contains("chunk size line is longer than 4096 bytes") == true)
        var trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        for i in 0..<90 { trailers += "T-\(i): \(filler)\r\n" }
        #expect(Self.read(Self.bytes(trailers + "\r\n")).failure?.contains("trailer section is longer than") == true)
    }

    @Test func bytesWithNoRequestOutFail() {
        var parser = AnswerParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")
        #expect(throws: AnswerParser.Failure.self) { try parser.next(&buffer) }
        // after an answer ended, too
        parser.expect(method: .POST)
        var answer = ByteBuffer(string: "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        #expect(throws: Never.self) { _ = try parser.next(&answer); _ = try parser.next(&answer) }
        var stray = ByteBuffer(string: "x")
        #expect(throws: AnswerParser.Failure.self) { try parser.next(&stray) }
    }

    /// A connection reused: each answer is read against its own request.
    @Test func answersFollowOneAnotherOnAConnection() throws {
        var parser = AnswerParser()
        for (i, text) in ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HTTP/1.1 500 Oops\r\nContent-Length: 2\r\n\r\nno"].enumerated() {
            parser.expect(method: i == 1 ? .HEAD : .POST)
            var buffer = ByteBuffer(string: text)
            var ended = false
            while let part = try parser.next(&buffer) {
                if case .end(let reusable) = part { ended = reusable }
            }
            #expect(ended && buffer.readableBytes == 0)
        }
    }
}

extension AnswerParser.Part: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.head(let x), .head(let y)): x == y
        case (.body(let x), .body(let y)): x == y
        case (.end(let x), .end(let y)): x == y
        default: false
        }
    }
}
