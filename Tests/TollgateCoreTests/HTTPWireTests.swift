import NIOCore
import NIOHTTP1
import Testing
import TestSupport
import TollgatePluginABI
import TollgateShared
@testable import TollgateCore

/// The gateway writes HTTP/1.1 heads and chunked bodies itself (no NIO encoder in either
/// pipeline): the bytes are exact, framing follows HTTP/1.1, and no header a config, plugin or
/// upstream wrote can split a head.
@Suite struct HTTPWireTests {
    static func request(_ method: HTTPMethod = .POST, _ uri: String = "/v1/chat/completions", headers: [(String, String)] = [],
                        extra: [(String, String)] = []) throws(HTTPHead.Invalid) -> String {
        var buffer = ByteBuffer()
        buffer.writeString("before|")
        let head = UpstreamHead(method: method, uri: uri, headers: HTTPHeaders(headers), contentLength: 2, extra: HTTPHeaders(extra))
        do {
            try HTTPHead.writeRequest(head, into: &buffer)
        } catch {
            #expect(String(buffer: buffer) == "before|", "a head that cannot be written leaves nothing behind")
            throw error
        }
        return String(String(buffer: buffer).dropFirst("before|".count))
    }

    @Test func aRequestHeadIsWrittenExactly() throws {
        let text = try Self.request(.POST, "/v1/chat/completions?x=1", headers: [("host", "api.example")])
        #expect(text == "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: api.example\r\ncontent-length: 2\r\n\r\n")
        // The channel's headers, the body's length, accept, then the request's own extra headers.
        var buffer = ByteBuffer()
        try HTTPHead.writeRequest(UpstreamHead(uri: "/v1/x", headers: ["host": "h", "authorization": "Bearer k"], contentLength: 120,
                                               accept: "text/event-stream", extra: ["anthropic-beta": "b1"]), into: &buffer)
        #expect(String(buffer: buffer) == "POST /v1/x HTTP/1.1\r\nhost: h\r\nauthorization: Bearer k\r\ncontent-length: 120\r\n"
            + "accept: text/event-stream\r\nanthropic-beta: b1\r\n\r\n")
    }

    /// A channel's own headers are made into lines once and copied into each head first; a
    /// header among them that cannot be written fails every request naming it (as when they were
    /// written per request), and a trace's header replaces a channel's own.
    @Test func aChannelsLinesAreMadeOnceAndWrittenFirst() throws {
        let lines = FieldLines(["host": "h", "authorization": "Bearer k", "traceparent": "channel's"])
        #expect(lines.bad == nil)
        #expect(String(decoding: lines.bytes, as: UTF8.self) == "host: h\r\nauthorization: Bearer k\r\ntraceparent: channel's\r\n")
        var buffer = ByteBuffer()
        try HTTPHead.writeRequest(UpstreamHead(uri: "/v1/x", lines: lines, headers: ["x-plugin": "p"], contentLength: 2,
                                               extra: ["e": "1"]), into: &buffer)
        #expect(String(buffer: buffer) == "POST /v1/x HTTP/1.1\r\nhost: h\r\nauthorization: Bearer k\r\ntraceparent: channel's\r\n"
            + "x-plugin: p\r\ncontent-length: 2\r\ne: 1\r\n\r\n")
        let withoutTrace = lines.removing("TraceParent")
        #expect(String(decoding: withoutTrace.bytes, as: UTF8.self) == "host: h\r\nauthorization: Bearer k\r\n")
        #expect(lines.removing("absent").bytes == lines.bytes)

        let bad = FieldLines(["host": "h", "authorization": "Bearer k\r\nx-injected: 1", "bad name": "v"])
        #expect(bad.bad == "authorization")
        #expect(String(decoding: bad.bytes, as: UTF8.self) == "host: h\r\n", "a bad line is never among the bytes")
        buffer = ByteBuffer()
        buffer.writeString("before|")
        let failure = #expect(throws: HTTPHead.Invalid.self) { try HTTPHead.writeRequest(UpstreamHead(uri: "/v1/x", lines: bad, contentLength: 2), into: &buffer) }
        #expect(failure?.description == "the header 'authorization' has a character a header cannot carry")
        #expect(String(buffer: buffer) == "before|")
        #expect(FieldLines.none.bytes.isEmpty && FieldLines.none.bad == nil)
    }

    /// A plugin's header lines become a head's lines straight from the ABI's bytes: the same
    /// bytes, and the same first bad header, as reading them into a list, adding `host` when they
    /// have none and leaving out `content-length`, over generated lines (names in any case,
    /// spaces and tabs, lines without a colon or a name, a CR inside, bytes past ASCII).
    @Test func aPluginsHeaderLinesAreWrittenAsTheirListWouldBe() {
        func viaList(_ raw: [UInt8], host: String) -> FieldLines {
            var headers = HTTPHeaders(HeaderLines.parse(raw))
            if !headers.contains(name: "host") { headers.add(name: "host", value: host) }
            headers.remove(name: "content-length")
            return FieldLines(headers)
        }
        let direct = FieldLines(pluginLines: UnsafeRawBufferPointer(start: nil, count: 0), host: "api.example")
        #expect(String(decoding: direct.bytes, as: UTF8.self) == "host: api.example\r\n" && direct.bad == nil)
        let given = Array("x-api-key: k\r\nHost: other\r\nContent-Length: 9\r\nanthropic-version: 2023-06-01\r\n".utf8)
        let lines = given.withUnsafeBytes { FieldLines(pluginLines: $0, host: "api.example") }
        #expect(String(decoding: lines.bytes, as: UTF8.self) == "x-api-key: k\r\nHost: other\r\nanthropic-version: 2023-06-01\r\n")
        #expect(lines.headers.first(name: "x-api-key") == "k" && lines.removing("x-api-key").headers.first(name: "x-api-key") == nil)

        var random = SplitMix(seed: 0xf1e1d)
        func pick(_ n: Int) -> Int { Int.random(in: 0..<n, using: &random) }
        let names = ["x-api-key", "Host", "host", "CONTENT-LENGTH", "content-length", "anthropic-version", "bad name", "", " x-pad\t", "é-name", "a"]
        let values = ["k", "", " spaced\t", "with\rcr", "2023-06-01", "ünïcode", "\u{0}nul", "a:b:c", "\u{FF}"]
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<pick(6) {
                switch pick(10) {
                case 0: text += "no colon here"
                case 1: text += ""
                default: text += names[pick(names.count)] + ":" + values[pick(values.count)]
                }
                text += pick(3) == 0 ? "\n" : "\r\n"
            }
            let raw = Array(text.utf8) + (pick(8) == 0 ? [0xC3] : [])  // sometimes a cut UTF-8 sequence
            let host = pick(10) == 0 ? "h\rx" : "api.example:8443"
            let lines = raw.withUnsafeBytes { FieldLines(pluginLines: $0, host: host) }, list = viaList(raw, host: host)
            #expect(lines.bytes == list.bytes && lines.bad == list.bad, "\(text.debugDescription) host \(host.debugDescription)")
        }
    }

    /// Heads are written through a cursor into room counted up front: whatever the sizes (many
    /// headers, long values, the longest numbers), the bytes are those of the plain text.
    @Test func headsOfAnySizeAreWrittenWhole() throws {
        let names = (0..<120).map { "x-h\($0)" }
        let long = String(repeating: "v", count: 5_000)
        var headers = HTTPHeaders()
        for name in names { headers.add(name: name, value: name == "x-h7" ? long : "") }
        var buffer = ByteBuffer()
        try HTTPHead.writeRequest(UpstreamHead(uri: "/" + long, headers: headers, contentLength: .max, extra: ["e": long]), into: &buffer)
        let lines = names.map { "\($0): \($0 == "x-h7" ? long : "")\r\n" }.joined()
        #expect(String(buffer: buffer) == "POST /\(long) HTTP/1.1\r\n\(lines)content-length: \(Int.max)\r\ne: \(long)\r\n\r\n")
        var fields = AnswerFields(requestID: long, close: true, channel: long, model: long)
        fields.cost = .priced(decimal: long, currency: long)
        fields.overhead = long
        let head = Self.response(.custom(code: 599, reasonPhrase: long), headers, fields: fields, length: .max)
        #expect(head == "HTTP/1.1 599 \(long)\r\n\(lines)content-length: \(Int.max)\r\nconnection: close\r\nx-request-id: \(long)\r\n"
            + "x-tollgate-channel: \(long)\r\nx-tollgate-model: \(long)\r\nx-tollgate-cost: \(long)\r\n"
            + "x-tollgate-cost-currency: \(long)\r\nx-tollgate-overhead-ms: \(long)\r\n\r\n")
        #expect(Self.response(.ok, length: 0).contains("content-length: 0\r\n"))
        // A bad line among the extras, the last of the head, still leaves nothing written.
        #expect(throws: HTTPHead.Invalid.self) { try Self.request(headers: [("a", "1")], extra: [("b", "2"), ("c", "x\ny")]) }
    }

    /// A connection's output buffer is reused once the socket let go of the last message (same
    /// memory, no allocation); a message the socket still holds is never written over; a large
    /// buffer is not kept.
    @Test func anOutputBufferIsReusedOnlyWhenNothingElseHoldsIt() {
        func address(_ buffer: ByteBuffer) -> UnsafeRawPointer? { buffer.withVeryUnsafeBytes { $0.baseAddress } }
        let allocator = ByteBufferAllocator()
        var output = OutputBuffer()
        var first = output.take(allocator, capacity: 100)
        first.writeString("first")
        output.keep(first)
        let firstAddress = address(first)
        first = ByteBuffer()  // the socket wrote it and let go
        var second = output.take(allocator, capacity: 100)
        #expect(address(second) == firstAddress && second.readableBytes == 0)
        second.writeString("second")
        output.keep(second)
        var third = output.take(allocator, capacity: 100)  // `second` is still queued
        third.writeString("third")
        #expect(address(third) != address(second) && String(buffer: second) == "second" && String(buffer: third) == "third")
        output.keep(third)
        var large = output.take(allocator, capacity: OutputBuffer.keptBytes + 1)
        #expect(large.capacity > OutputBuffer.keptBytes)
        large.writeString("large")
        output.keep(large)
        #expect(output.take(allocator, capacity: 10).capacity < large.capacity)
    }

    @Test(arguments: [
        ("authorization", "Bearer sk-a\r\nx-evil: 1"), ("x-a", "line\nfeed"), ("x-a", "nul\u{0}"),
        ("bad name", "v"), ("x-a:b", "v"), ("", "v"),
    ])
    func aHeaderThatWouldSplitTheRequestHeadIsRefused(name: String, value: String) {
        #expect(throws: HTTPHead.Invalid.self) { try Self.request(headers: [("host", "h"), (name, value)]) }
    }

    /// A request's path and query, split at the first `?` (routes, tracing and keys read them).
    @Test(arguments: [("/v1/models", "/v1/models", nil), ("/v1/models?", "/v1/models", ""), ("/a?key=k?x&b=1", "/a", "key=k?x&b=1"),
                      ("/é?q=ü", "/é", "q=ü")] as [(String, String, String?)])
    func thePathEndsAtTheFirstQuestionMark(uri: String, path: String, query: String?) {
        let head = RequestHead(method: .GET, uri: uri)
        #expect(head.path == path)
        #expect(head.query.map(String.init) == query)
    }

    /// `Authorization: Bearer` in any case; an empty bearer or another scheme falls through to
    /// the other places a key may be.
    @Test func theKeyIsReadFromABearerOfAnyCase() {
        func key(_ headers: [(String, String)], uri: String = "/v1/chat/completions") -> String? {
            ClientAPI.presentedKey(RequestHead(method: .POST, uri: uri, fields: HeadFields(headers))) { String(decoding: $0, as: UTF8.self) }
        }
        #expect(key([("Authorization", "Bearer tg-1")]) == "tg-1")
        #expect(key([("authorization", "bEaReR tg-2")]) == "tg-2")
        #expect(key([("Authorization", "Bearer ")]) == nil)
        #expect(key([("Authorization", "Basic dXNlcg=="), ("x-api-key", "tg-3")]) == "tg-3")
        #expect(key([("Authorization", "Bearer ")], uri: "/v1beta/models/m:generateContent?alt=sse&key=tg-4") == "tg-4")
    }

    @Test func aTargetOrMethodThatWouldSplitTheRequestLineIsRefused() {
        #expect(throws: HTTPHead.Invalid.self) { try Self.request(.POST, "/v1/models/a b:generateContent") }
        #expect(throws: HTTPHead.Invalid.self) { try Self.request(.POST, "/v1/x\r\nHost: evil") }
        do {
            _ = try Self.request(.POST, "/v1/a b?key=secret-in-query")
            Issue.record("a path with a space was written")
        } catch {
            #expect(error.description.contains("/v1/a b") && !error.description.contains("secret"))
        }
        #expect(throws: HTTPHead.Invalid.self) { try Self.request(.POST, "") }
        #expect(throws: HTTPHead.Invalid.self) { try Self.request(HTTPMethod(rawValue: "GET /x"), "/") }
    }

    static func response(_ status: HTTPResponseStatus, _ headers: HTTPHeaders = [:], fields: AnswerFields = AnswerFields(requestID: "req_1", close: false),
                         length: Int? = 0) -> String {
        var fields = fields
        fields.frame(status, length: length)
        var buffer = ByteBuffer()
        HTTPHead.writeResponse(status: status, headers: headers, fields: fields, into: &buffer)
        return String(buffer: buffer)
    }

    @Test func aResponseHeadLeavesOutALineThatWouldSplitIt() {
        #expect(Self.response(.ok, HTTPHeaders([("x-bad", "a\r\nset-cookie: s=1"), ("x-good", "b")]))
                == "HTTP/1.1 200 OK\r\nx-good: b\r\ncontent-length: 0\r\nx-request-id: req_1\r\n\r\n")
        #expect(Self.response(.custom(code: 529, reasonPhrase: "Overloaded\r\nx: y"), fields: AnswerFields(requestID: "", close: true))
                == "HTTP/1.1 529 \r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        // The gateway's own lines are checked too: a model name is the client's text.
        var fields = AnswerFields(requestID: "req_1", close: false, channel: "main", model: "gpt\r\nset-cookie: s=1")
        fields.overhead = "0.042"
        #expect(Self.response(.ok, fields: fields)
                == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-request-id: req_1\r\nx-tollgate-channel: main\r\nx-tollgate-overhead-ms: 0.042\r\n\r\n")
    }

    @Test func framingIsTheWritersAloneAndFollowsHTTP11() {
        // Framing headers in an answer's list never reach the client, whatever their case.
        let framed = HTTPHeaders([("Content-Length", "5"), ("x-a", "1"), ("TRANSFER-ENCODING", "chunked")])
        #expect(Self.response(.noContent, framed, length: 5) == "HTTP/1.1 204 No Content\r\nx-a: 1\r\nx-request-id: req_1\r\n\r\n")
        #expect(Self.response(.notModified, framed, length: nil) == "HTTP/1.1 304 Not Modified\r\nx-a: 1\r\nx-request-id: req_1\r\n\r\n")
        #expect(Self.response(.ok, framed, length: 12) == "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 12\r\nx-request-id: req_1\r\n\r\n")
        #expect(Self.response(.ok, framed, length: nil) == "HTTP/1.1 200 OK\r\nx-a: 1\r\ntransfer-encoding: chunked\r\nx-request-id: req_1\r\n\r\n")
        // A header merely starting like one is the answer's own.
        #expect(Self.response(.ok, HTTPHeaders([("content-lengths", "1")]), length: 0)
                == "HTTP/1.1 200 OK\r\ncontent-lengths: 1\r\ncontent-length: 0\r\nx-request-id: req_1\r\n\r\n")
        var chunk = ByteBuffer()
        Array("data: {}\n\n".utf8).withUnsafeBytes { chunk.writeChunk($0) }
        #expect(String(buffer: chunk) == "a\r\ndata: {}\n\n\r\n")
    }

    @Test func aModelAnswerCarriesItsChannelModelCostAndOverhead() {
        var fields = AnswerFields(requestID: "req_7", close: true, channel: "openai-main", model: "gpt-4o")
        fields.cost = .priced(decimal: "0.000915000", currency: "USD")
        fields.overhead = ModelCall.milliseconds(41_600)
        #expect(Self.response(.ok, HTTPHeaders([("content-type", "application/json")]), fields: fields, length: 1234)
                == "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1234\r\nconnection: close\r\n"
                + "x-request-id: req_7\r\nx-tollgate-channel: openai-main\r\nx-tollgate-model: gpt-4o\r\n"
                + "x-tollgate-cost: 0.000915000\r\nx-tollgate-cost-currency: USD\r\nx-tollgate-overhead-ms: 0.042\r\n\r\n")
        fields.cost = .unpriced
        fields.overhead = nil
        #expect(Self.response(.ok, fields: fields).hasSuffix("x-tollgate-model: gpt-4o\r\nx-tollgate-cost-status: unpriced\r\n\r\n"))
        #expect(ModelCall.milliseconds(-5_000) == "0.000")
        #expect(ModelCall.milliseconds(1_234_567_890) == "1234.568")
        #expect(ModelCall.milliseconds(499) == "0.000" && ModelCall.milliseconds(500) == "0.001")
    }

    @Test func aSmallBodyGoesBehindItsHeadALargeOneAfterIt() {
        var out = ByteBufferAllocator().buffer(capacity: HTTPHead.capacity(body: 4))
        out.writeStaticString("HEAD\r\n\r\n")
        #expect(out.coalescing(ByteBuffer(string: "body")) == nil)
        #expect(String(buffer: out) == "HEAD\r\n\r\nbody")
        let large = ByteBuffer(repeating: 0x61, count: HTTPHead.coalescedBodyBytes + 1)
        #expect(out.coalescing(large) == large)
        #expect(out.readableBytes == "HEAD\r\n\r\nbody".utf8.count)
    }

    /// Plugins hand the core a URL per request; it is split on bytes.
    @Test(arguments: [
        ("https://api.anthropic.com/v1/messages", "api.anthropic.com", 443, true, "/v1/messages"),
        ("http://user:pw@127.0.0.1:8080/v1?x=1", "127.0.0.1", 8080, false, "/v1?x=1"),
        ("http://[::1]:9/a", "::1", 9, false, "/a"), ("http://[::1]", "::1", 80, false, "/"),
        ("http://h?q", "h", 80, false, "/?q"), ("http://hé.example/é", "hé.example", 80, false, "/é"),
        ("https://a@b:c@h:1/p@q:r", "h", 1, true, "/p@q:r"), ("http://[::1]x/", "::1", 80, false, "/"), ("http://h:+81", "h", 81, false, "/"),
        ("http://h/", "h", 80, false, "/"), ("https://h:443?", "h", 443, true, "/?"),
    ] as [(String, String, Int, Bool, String)])
    func upstreamURLsSplitIntoEndpointAndPath(url: String, host: String, port: Int, tls: Bool, path: String) throws {
        let (endpoint, parsedPath) = try #require(UpstreamEndpoint.parse(url))
        #expect(endpoint.host == host && endpoint.port == port && endpoint.tls == tls && parsedPath == path)
    }

    @Test(arguments: ["ftp://h/x", "http://", "http://h:0/", "http://h:99999/", "http://h:x/", "http://[::1/", "http://[::1]:y/",
                      "HTTP://h/", "http:/h/", "https:/", "http://u@/", "http://[]/", "http://:80/", "http://h:-1/", "http://[::1]:/"])
    func malformedUpstreamURLsAreRefused(url: String) {
        #expect(UpstreamEndpoint.parse(url) == nil)
    }

    /// A credential with a line break (a config mistake, or worse) never reaches the upstream as
    /// a second header: the request is refused with a clear 502 and nothing is sent.
    @Test func aCredentialWithALineBreakIsNotSentUpstream() async throws {
        let upstream = try await MockUpstream { _, respond in respond.json(200, #"{"choices":[]}"#) }
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: broken, provider: openai, base_url: "\(upstream.baseURL)/v1", credentials: { api_key: "sk-a\\r\\nx-evil: 1" }, models: [gpt-4o] }
        """)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let answer = try await harness.chat(#"{"model":"gpt-4o","messages":[]}"#)
        #expect(answer.status == 502)
        #expect(answer.json?["error"]?["code"]?.stringValue == "upstream_request_invalid")
        #expect(answer.text.contains("authorization") && !answer.text.contains("sk-a"))
        #expect(upstream.requests.isEmpty)
    }
}

/// Headers cross the plugin ABI as `name: value` lines.
@Suite struct HeaderLinesTests {
    @Test func linesParseWhateverTheirEndingsAndBlanks() {
        let text = "Content-Type: application/json\r\nx-a:\t 1:2 \t\nno colon line\n\r\n: empty name\nx-b:   \r\nx-c:é \n"
        let parsed = HeaderLines.parse(Array(text.utf8))
        #expect(parsed.map(\.0) == ["Content-Type", "x-a", "x-b", "x-c"])
        #expect(parsed.map(\.1) == ["application/json", "1:2", "", "é"])
        #expect(HeaderLines.parse([]).isEmpty && HeaderLines.parse(Array("\n\n  \r\n".utf8)).isEmpty)
    }

    @Test func linesAreReadInPlaceFromALentView() {
        let parsed = withBytesView("a: 1\r\nb:2") { HeaderLines.parse($0.raw) }
        #expect(parsed.map(\.0) == ["a", "b"] && parsed.map(\.1) == ["1", "2"])
        #expect(HeaderLines.parse(tollgate_type_bytes(ptr: nil, len: 7).raw).isEmpty)  // a plugin's broken views read as none
        let negative = withBytesView("a: 1") { tollgate_type_bytes(ptr: $0.ptr, len: -1).raw.count }
        #expect(negative == 0)
    }

    @Test func formattedLinesParseBack() {
        let headers = [("anthropic-ratelimit-requests-limit", "50"), ("retry-after", "3")]
        #expect(String(decoding: HeaderLines.format(headers), as: UTF8.self) == "anthropic-ratelimit-requests-limit: 50\r\nretry-after: 3\r\n")
        let back = HeaderLines.parse(HeaderLines.format(headers))
        #expect(back.map(\.0) == headers.map(\.0) && back.map(\.1) == headers.map(\.1))
    }

    /// An upstream head reaches a plugin with lower-case names (only names: values keep their case).
    @Test func anUpstreamHeadIsWrittenWithLowerCaseNames() {
        let head = HeadFields([("Content-Type", "Application/JSON"), ("X-RateLimit-Limit-Requests", "50"), ("retry-after", "3"), ("@[`{Z", "v")])
        #expect(String(decoding: head.abiLines, as: UTF8.self)
            == "content-type: Application/JSON\r\nx-ratelimit-limit-requests: 50\r\nretry-after: 3\r\n@[`{z: v\r\n")
        #expect(HeadFields().abiLines.isEmpty)
        // Fields read off their lines (the bytes between a name and its value are not written).
        var read = HeadFields()
        for line in ["X-Long-Name:   spaced value", "E:", "Set-Cookie: a=1; b=2"] {
            let bytes = Array(line.utf8), colon = bytes.firstIndex(of: UInt8(ascii: ":"))!
            let valueStart = bytes[(colon + 1)...].firstIndex { $0 != UInt8(ascii: " ") } ?? bytes.count
            bytes.withUnsafeBytes { read.append(line: $0, name: 0..<colon, value: valueStart..<bytes.count) }
        }
        #expect(String(decoding: read.abiLines, as: UTF8.self) == "x-long-name: spaced value\r\ne: \r\nset-cookie: a=1; b=2\r\n")
        // Straight into a plugin buffer: the same bytes, UTF-8 values kept whole; none for no lines.
        var buffer = HeaderLines.allocate([("X-A", "é 1"), ("b", "")], lowercasingNames: true)
        #expect(buffer.string == "x-a: é 1\r\nb: \r\n" && buffer.array == HeaderLines.format([("X-A", "é 1"), ("b", "")], lowercasingNames: true))
        // Only ASCII capitals are lower-cased, in names alone: `@`, `[`, UTF-8 and values stay.
        #expect(String(decoding: HeaderLines.format([("A@Z[Ü", "V A")], lowercasingNames: true), as: UTF8.self) == "a@z[Ü: V A\r\n")
        tollgate_type_buffer.release(&buffer)
        #expect(HeaderLines.allocate([(String, String)]()).ptr == nil)
    }

    /// The word-at-a-time checks say what a byte-by-byte reading says, for every byte at every
    /// place of a line (inside a word of eight and in the tail), and `tchar` is RFC 9110's set.
    @Test func fieldBytesAreCheckedAsTheRFCSays() {
        let tchar = Set(Array("!#$%&'*+-.^_`|~0123456789".utf8) + Array(UInt8(ascii: "A")...UInt8(ascii: "Z")) + Array(UInt8(ascii: "a")...UInt8(ascii: "z")))
        for byte in UInt8.min...UInt8.max {
            #expect(FieldBytes.isToken(byte) == tchar.contains(byte), "byte \(byte)")
            for place in 0..<20 {
                var line = Array("content-type: json!".utf8) + [UInt8(ascii: "x")]
                line[place] = byte
                line.withUnsafeBytes { bytes in
                    #expect(FieldBytes.staysOnLine(bytes) == !(byte == 0x0D || byte == 0x0A || byte == 0), "byte \(byte) at \(place)")
                    #expect(FieldBytes.hasNoControl(bytes) == !((byte < 0x20 && byte != 0x09) || byte == 0x7F), "byte \(byte) at \(place)")
                }
            }
        }
    }

    /// An answer's fields are kept as the bytes came (names in their case, values trimmed, in
    /// order, repeats kept); readers ask by name in any case and only what they pick becomes text.
    @Test func anAnswersFieldsAreReadByNameFromTheirBytes() throws {
        var parser = AnswerParser()
        parser.expect(method: .POST)
        var bytes = ByteBuffer(string: "HTTP/1.1 429 Too Many\r\nContent-Type:  text/event-stream; charset=utf-8 \r\nX-RateLimit-Remaining-Requests: 0\r\n"
            + "Set-Cookie: a=1\r\nRETRY-AFTER: 7\r\nset-cookie: b=2\r\nX-Request-ID: up-1\r\nx-empty:\r\nContent-Length: 0\r\n\r\n")
        guard case .head(let head) = try parser.next(&bytes) else { Issue.record("no head"); return }
        #expect(head.code == 429 && head.fields.count == 8)
        #expect(head.fields.map { "\($0.0)=\($0.1)" } == ["Content-Type=text/event-stream; charset=utf-8", "X-RateLimit-Remaining-Requests=0",
                                                          "Set-Cookie=a=1", "RETRY-AFTER=7", "set-cookie=b=2", "X-Request-ID=up-1", "x-empty=", "Content-Length=0"])
        #expect(head.fields.first("set-cookie") == "a=1" && head.fields.first("x-missing") == nil && head.fields.first("x-empty") == "")
        #expect(head.fields.first("content-type") { $0.hasPrefixIgnoringASCIICase("text/event-stream") } == true)
        #expect(head.fields == HeadFields(head.fields.map { $0 }))
        // Rate limits: only the names they may be in become text, and are read.
        #expect(head.fields.pairs(where: RateLimitInfo.mayRead).map(\.0) == ["X-RateLimit-Remaining-Requests", "RETRY-AFTER"])
        let limits = RateLimitInfo.parse(head.fields.pairs(where: RateLimitInfo.mayRead))
        #expect(limits.requestsRemaining == 0 && limits.retryAfter == .seconds(7))
        // The client's allow-list: the content type and the retry advice, the request id renamed; cookies stay behind.
        #expect(UpstreamHeaders.forClient(head.fields).map { "\($0.name)=\($0.value)" }
            == ["Content-Type=text/event-stream; charset=utf-8", "RETRY-AFTER=7", "x-upstream-request-id=up-1"])
        // A complete answer's head takes the same fields as lines of their bytes.
        let lines = UpstreamHeaders.clientLines(head.fields)
        #expect(String(decoding: lines.bytes, as: UTF8.self)
            == "Content-Type: text/event-stream; charset=utf-8\r\nRETRY-AFTER: 7\r\nx-upstream-request-id: up-1\r\n" && lines.bad == nil)
        #expect(lines.headers.map { "\($0.name)=\($0.value)" } == UpstreamHeaders.forClient(head.fields).map { "\($0.name)=\($0.value)" })
        var out = ByteBuffer()
        HTTPHead.writeResponse(status: .tooManyRequests, lines: lines, headers: ["x-own": "1"], fields: AnswerFields(requestID: "r", close: false), into: &out)
        #expect(String(buffer: out) == "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/event-stream; charset=utf-8\r\nRETRY-AFTER: 7\r\n"
            + "x-upstream-request-id: up-1\r\nx-own: 1\r\nx-request-id: r\r\n\r\n")
        #expect(UpstreamHeaders.converted(head.fields).map { "\($0.name)=\($0.value)" } == ["content-type=application/json", "RETRY-AFTER=7"])
        // Without retry advice, the shared list; with it, a copy: the shared list keeps its one field.
        #expect(UpstreamHeaders.converted(HeadFields([("x-other", "1")])).map { "\($0.name)=\($0.value)" } == ["content-type=application/json"])
        #expect(UpstreamHeaders.convertedJSON.map { "\($0.name)=\($0.value)" } == ["content-type=application/json"])
        // The advice one answer carried never reaches the next answer's head.
        _ = UpstreamHeaders.converted(HeadFields([("retry-after", "3")]))
        #expect(UpstreamHeaders.converted(HeadFields()).map { "\($0.name)=\($0.value)" } == ["content-type=application/json"])
    }

    /// Bodies are lent from the buffer's readable bytes, and plugin buffers are made from any of
    /// the core's forms; empty input makes the empty buffer (nothing to free).
    @Test func buffersAreLentInPlaceAndCopiedOut() {
        var body = ByteBuffer(string: "skip:body")
        body.moveReaderIndex(forwardBy: 5)
        #expect(withBytesView(body) { $0.array } == Array("body".utf8))
        #expect(withBytesView(ByteBuffer()) { $0.raw.count } == 0)
        for made in [tollgate_type_buffer.allocate("héllo"), .allocate(Array("héllo".utf8))] {
            var buffer = made
            #expect(buffer.string == "héllo")
            tollgate_type_buffer.release(&buffer)
        }
        #expect(tollgate_type_buffer.allocate("").ptr == nil && tollgate_type_buffer.allocate([UInt8]()).ptr == nil)
    }
}
