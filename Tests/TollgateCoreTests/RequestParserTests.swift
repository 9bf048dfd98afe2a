import NIOCore
import NIOHTTP1
import Testing
@testable import TollgateCore

/// The gateway's reader of client requests: framing by RFC 9112, requests one after another on
/// a connection, the same parts however the bytes are split across reads, and a refusal (never
/// a guess) for whatever could be read two ways.
@Suite struct RequestParserTests {
    /// What the parser made of a connection's bytes: each request, and how reading stopped.
    struct Read: Equatable {
        var requests: [String] = []  // "METHOD uri HTTP/1.x [fields] body"
        var failure: String?
        var tooLarge = false
    }

    /// Feeds `bytes` in reads cut at `cuts`.
    static func read(_ bytes: [UInt8], cuts: [Int] = []) -> Read {
        var parser = RequestParser()
        var read = Read(), current = "", body: [UInt8] = []
        var start = 0
        do {
            for end in cuts + [bytes.count] where end >= start {
                var buffer = ByteBuffer(bytes: bytes[start..<end])
                start = end
                while let part = try parser.next(&buffer) {
                    switch part {
                    case .head(let head, _):
                        current = "\(head.method.rawValue) \(head.uri) HTTP/1.\(head.minor) \(head.fields.map { "\($0.0)=\($0.1)" })"
                    case .body(let slice): body += slice.readableBytesView
                    case .end:
                        read.requests.append(current + " " + String(decoding: body, as: UTF8.self))
                        body = []
                    }
                }
                #expect(buffer.readableBytes == 0, "a read was left unread")
            }
        } catch {
            read.failure = error.reason
            read.tooLarge = error.tooLarge
        }
        return read
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    static let requests: [(String, [String])] = [
        ("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
         ["POST /v1/chat/completions HTTP/1.1 [\"Host=gw\", \"Content-Length=7\"] {\"a\":1}"]),
        ("GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n", ["GET /healthz HTTP/1.1 [\"Host=gw\"] "]),
        // chunked, with extensions and trailers (read past)
        ("POST /v1/messages HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0006 \r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
         ["POST /v1/messages HTTP/1.1 [\"Host=gw\", \"Transfer-Encoding=chunked\"] hello world"]),
        // pipelined: three requests in one write, each whole; empty lines before a request line are skipped
        ("POST /a HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\n\r\nx\r\nGET /b?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nPUT /c HTTP/1.1\r\nhost: gw\r\ncontent-length: 3, 3\r\n\r\nabc",
         ["POST /a HTTP/1.1 [\"Host=gw\", \"Content-Length=1\"] x", "GET /b?q=1 HTTP/1.0 [\"Connection=keep-alive\"] ",
          "PUT /c HTTP/1.1 [\"host=gw\", \"content-length=3, 3\"] abc"]),
        // values lose the whitespace around them; obs-text in a value and the target is kept
        ("PROPFIND /d\u{00e9} HTTP/1.1\r\nHOST: gw\r\nX-A:  caf\u{00e9} \t\r\n\r\n", ["PROPFIND /d\u{00e9} HTTP/1.1 [\"HOST=gw\", \"X-A=caf\u{00e9}\"] "]),
    ]

    @Test func requestsAreFramedAsRFC9112Says() {
        for (text, expected) in Self.requests {
            #expect(Self.read(Self.bytes(text)) == Read(requests: expected), "\(text)")
        }
    }

    /// The parts come out the same however reads split the bytes: at each byte, and in two cuts.
    @Test func anySplitReadsTheSameRequests() {
        for (text, expected) in Self.requests {
            let bytes = Self.bytes(text)
            for cut in 0...bytes.count {
                #expect(Self.read(bytes, cuts: [cut]) == Read(requests: expected), "\(text) cut at \(cut)")
            }
            #expect(Self.read(bytes, cuts: Array(0...bytes.count)) == Read(requests: expected), "\(text) a byte a read")
        }
    }

    @Test(arguments: [
        // request smuggling: whatever two readers could frame differently
        ("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "transfer-encoding and content-length together"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", "transfer-encoding and content-length together"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "last transfer coding is not chunked"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "last transfer coding is not chunked"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", "last transfer coding is not chunked"),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked twice"),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0"),
        ("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting content-length"),
        ("POST / HTTP/1.1\r\nContent-Length: 1,2\r\n\r\n", "conflicting content-length"),
        ("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", "is not a length"),
        ("POST / HTTP/1.1\r\nContent-Length : 1\r\n\r\n", "malformed field line"),
        ("POST / HTTP/1.1\nHost: gw\r\n\r\n", "lone LF"),
        ("POST / HTTP/1.1\r\nHost: gw\n\r\n", "lone LF"),
        ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n", "lone LF"),
        ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n", "longer than its size"),
        ("POST / HTTP/1.1\r\nX: a\rb\r\n\r\n", "a field value holds a control character"),
        ("POST / HTTP/1.1\r\nA: 1\r\n folded\r\n\r\n", "obsolete line folding"),
        ("POST / HTTP/1.1\r\nNo colon\r\n\r\n", "malformed field line"),
        // request lines
        ("GARBAGE\u{0}\u{1} / HTTP/9.9\r\n\r\n", "malformed request line"),
        ("GET / HTTP/1.2\r\n\r\n", "malformed request line"),
        ("GET / HTTP/2.0\r\n\r\n", "malformed request line"),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "malformed request line"),
        ("GET  / HTTP/1.1\r\n\r\n", "malformed request line"),
        ("GET / HTTP/1.1 \r\n\r\n", "malformed request line"),
        ("GET /a b HTTP/1.1\r\n\r\n", "malformed request line"),
        ("GET /\u{7f} HTTP/1.1\r\n\r\n", "malformed request line"),
        ("GET / http/1.1\r\n\r\n", "malformed request line"),
        ("/ HTTP/1.1\r\n\r\n", "malformed request line"),
        ("GET\r\n\r\n", "malformed request line"),
        // chunk sizes
        ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size line has no size"),
        ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "more than 15 digits"),
        ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "chunk size line has no size"),
        // the host: one on HTTP/1.1, never two (RFC 9112 §3.2)
        ("GET / HTTP/1.1\r\n\r\n", "an HTTP/1.1 request without a host field"),
        ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "more than one host field"),
        ("GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n", "more than one host field"),
    ])
    func requestsThatCouldBeReadTwoWaysAreRefused(text: String, failure: String) {
        let read = Self.read(Self.bytes(text))
        #expect(read.failure?.contains(failure) == true, "\(read.failure ?? "no failure")")
        #expect(read.requests.isEmpty && !read.tooLarge)
    }

    @Test func headsAndChunkLinesHaveALimitAndAHeadOverItIsTooLarge() {
        let filler = String(repeating: "x", count: 1000)
        var large = "POST / HTTP/1.1\r\n"
        for i in 0..<90 { large += "X-\(i): \(filler)\r\n" }
        let many = Self.read(Self.bytes(large + "\r\n"))
        #expect(many.failure?.contains("request head is longer than") == true && many.tooLarge)
        // one line never ending: refused once the limit is passed, not held
        let endless = Self.read(Self.bytes("POST / HTTP/1.1\r\nX: " + String(repeating: "y", count: HeadInProgress.maxBytes)))
        #expect(endless.tooLarge)
        // empty lines before a request line count against it too
        #expect(Self.read(Self.bytes(String(repeating: "\r\n", count: HeadInProgress.maxBytes))).tooLarge)
        let chunkLine = "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "e", count: 5000)
        let chunk = Self.read(Self.bytes(chunkLine))
        #expect(chunk.failure?.contains("chunk size line is longer than 4096 bytes") == true && !chunk.tooLarge)
        var trailers = "POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
        for i in 0..<90 { trailers += "T-\(i): \(filler)\r\n" }
        #expect(Self.read(Self.bytes(trailers + "\r\n")).tooLarge)
    }

    /// The head hands on the body's framing as read (the handler sizes and refuses by it, and
    /// answers `100 Continue` by it, without searching the fields again).
    @Test func theHeadSaysWhatBodyFollows() throws {
        for (text, expected) in [
            ("POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 7\r\n\r\n", RequestParser.RequestBody(length: 7)),
            ("POST / HTTP/1.1\r\nHost: gw\r\ncontent-length: 3, 3\r\nExpect: 100-Continue\r\n\r\n", RequestParser.RequestBody(length: 3, expectsContinue: true)),
            ("POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", RequestParser.RequestBody(length: nil, expectsContinue: true)),
            ("GET / HTTP/1.1\r\nHost: gw\r\nExpect: something-else\r\n\r\n", RequestParser.RequestBody(length: 0)),
        ] {
            var parser = RequestParser()
            var buffer = ByteBuffer(string: text)
            guard case .head(_, let body) = try parser.next(&buffer) else { Issue.record("no head: \(text)"); continue }
            #expect(body == expected, "\(text)")
        }
    }

    /// Whether the connection stays open after the answer, as the head says: HTTP/1.1 unless a
    /// `connection` list names `close`, HTTP/1.0 only when it names `keep-alive` (any case).
    @Test func theHeadSaysWhetherTheConnectionStaysOpen() throws {
        for (text, open) in [
            ("GET / HTTP/1.1\r\nHost: gw\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nHost: gw\r\nConnection: Close\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nHost: gw\r\nconnection: upgrade, close\r\n\r\n", false),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
            ("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
        ] {
            var parser = RequestParser()
            var buffer = ByteBuffer(string: text)
            guard case .head(let head, _) = try parser.next(&buffer) else { Issue.record("no head: \(text)"); continue }
            #expect(head.isKeepAlive == open, "\(text)")
        }
    }

    /// After a failure the parser reads nothing more: a well-formed request behind garbage is not
    /// served (its bytes might be the garbage's body to another reader).
    @Test func nothingIsReadAfterAFailure() throws {
        var parser = RequestParser()
        var garbage = ByteBuffer(string: "NOT HTTP\r\n\r\n")
        #expect(throws: HTTPWireFailure.self) { try parser.next(&garbage) }
        var next = ByteBuffer(string: "GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        #expect(try parser.next(&next) == nil)
        #expect(next.readableBytes == 0)
    }

    /// A request whose body has not all arrived gives the parts it has; the rest come with the
    /// next read.
    @Test func aBodyComesAsItArrives() throws {
        var parser = RequestParser()
        var first = ByteBuffer(string: "POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\n\r\nabc")
        guard case .head = try parser.next(&first) else { Issue.record("no head"); return }
        guard case .body(let some) = try parser.next(&first) else { Issue.record("no body"); return }
        #expect(String(buffer: some) == "abc")
        #expect(try parser.next(&first) == nil)
        var rest = ByteBuffer(string: "def")
        guard case .body(let more) = try parser.next(&rest), case .end = try parser.next(&rest) else { Issue.record("no end"); return }
        #expect(String(buffer: more) == "def")
    }
}

extension RequestParser.Part: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.head(let x, let a), .head(let y, let b)): x == y && a == b
        case (.body(let x), .body(let y)): x == y
        case (.end, .end): true
        default: false
        }
    }
}
