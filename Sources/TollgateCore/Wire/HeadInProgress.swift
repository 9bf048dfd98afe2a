#if canImport(Glibc)
import Glibc
#endif
import NIOHTTP1
import TollgateShared

/// A message's head as its lines come (an upstream's answer, a client's request): what framing
/// and reuse depend on is read from the fields as they pass.
struct HeadInProgress {
    /// The most bytes a head may take (line ends counted as two), a request's or an answer's.
    static let maxBytes = 80 * 1024

    /// Bytes of the head so far (line ends counted as two), against `maxBytes`.
    var bytes = 0
    var status: (minor: Int, code: Int)?
    var request: (method: HTTPMethod, uri: String, minor: Int)?
    var fields = HeadFields()
    var contentLength: Int?
    var transferEncoding = false
    /// `chunked` is the last transfer coding.
    var chunked = false
    /// `connection: close`, or a framing that ends with the connection.
    var close = false
    var keepAliveToken = false
    /// `expect: 100-continue` (a request's).
    var expectsContinue = false
    /// How many `host` fields came.
    var hosts = 0

    /// Whether the connection stays open after this message: HTTP/1.1 unless `connection: close`
    /// (or a framing that ends with the connection), HTTP/1.0 only with `connection: keep-alive`.
    var keepAlive: Bool { !close && ((status?.minor ?? request?.minor ?? 0) > 0 || keepAliveToken) }

    /// What is left of `maxBytes` for the head's next line (or a body's trailers).
    var room: Int { max(0, Self.maxBytes - bytes) }

    /// The failure of a head (`what`) over `maxBytes`: a client is told 431.
    static func tooLong(_ what: StaticString) -> HTTPWireFailure {
        HTTPWireFailure("\(what) is longer than \(maxBytes) bytes", tooLarge: true)
    }

    /// The head, its fields moved out, not copied. The reason phrase is not kept: nothing reads
    /// it (the client's head is the gateway's own).
    mutating func takeResponseHead() -> AnswerHead {
        var taken = HeadFields()
        swap(&taken, &fields)
        return AnswerHead(status: HTTPResponseStatus(statusCode: status!.code), fields: taken)
    }

    /// A request's head, its fields moved out.
    mutating func takeRequestHead() -> RequestHead {
        let request = request!
        var taken = HeadFields()
        swap(&taken, &fields)
        return RequestHead(method: request.method, uri: request.uri, minor: request.minor, fields: taken, isKeepAlive: keepAlive)
    }

    /// `HTTP/1.x NNN reason` (the reason may be empty, its space too).
    mutating func readStatusLine(_ line: UnsafeRawBufferPointer) throws {
        func digit(_ i: Int) -> Int? {
            line[i] >= UInt8(ascii: "0") && line[i] <= UInt8(ascii: "9") ? Int(line[i] - UInt8(ascii: "0")) : nil
        }
        guard line.count >= 12, line.hasPrefix("HTTP/1."), let minor = digit(7), line[8] == UInt8(ascii: " "),
              let a = digit(9), let b = digit(10), let c = digit(11), a > 0, line.count == 12 || line[12] == UInt8(ascii: " ") else {
            throw HTTPWireFailure("malformed status line")
        }
        let reason = line.count > 13 ? UnsafeRawBufferPointer(rebasing: line[13...]) : UnsafeRawBufferPointer(start: nil, count: 0)
        guard FieldBytes.hasNoControl(reason) else { throw HTTPWireFailure("the status line's reason holds a control character") }
        status = (minor, a * 100 + b * 10 + c)
    }

    /// `METHOD target HTTP/1.0|1.1`, one space apart (RFC 9112 §3): the method a token, the
    /// target visible bytes (obs-text allowed, as clients send UTF-8 unescaped).
    mutating func readRequestLine(_ line: UnsafeRawBufferPointer) throws {
        let space = UInt8(ascii: " ")
        var end = 0
        while end < line.count, FieldBytes.isToken(line[end]) { end += 1 }
        let methodEnd = end
        guard methodEnd > 0, end < line.count, line[end] == space else { throw HTTPWireFailure("malformed request line") }
        end += 1
        let targetStart = end
        while end < line.count, line[end] > space, line[end] != 0x7F { end += 1 }
        let version = UnsafeRawBufferPointer(rebasing: line[min(end + 1, line.count)...])
        guard end > targetStart, end < line.count, line[end] == space, version.count == 8, version.hasPrefix("HTTP/1."),
              version[7] == UInt8(ascii: "0") || version[7] == UInt8(ascii: "1") else {
            throw HTTPWireFailure("malformed request line")
        }
        request = (Self.method(UnsafeRawBufferPointer(rebasing: line[..<methodEnd])),
                   String(decoding: UnsafeRawBufferPointer(rebasing: line[targetStart..<end]), as: UTF8.self),
                   Int(version[7] - UInt8(ascii: "0")))
    }

    /// The common methods without building a String (NIO's table takes one).
    private static func method(_ name: UnsafeRawBufferPointer) -> HTTPMethod {
        if name.count == 4 && memcmp(name.baseAddress!, "POST", 4) == 0 { return .POST }
        if name.count == 3 && memcmp(name.baseAddress!, "GET", 3) == 0 { return .GET }
        return HTTPMethod(rawValue: String(decoding: name, as: UTF8.self))
    }

    /// `name: value`, the value without the whitespace around it.
    mutating func readField(_ line: UnsafeRawBufferPointer) throws {
        guard line[0] != UInt8(ascii: " ") && line[0] != UInt8(ascii: "\t") else {
            throw HTTPWireFailure("a field line is folded onto the previous one (obsolete line folding)")
        }
        var colon = 0
        while colon < line.count, FieldBytes.isToken(line[colon]) { colon += 1 }
        guard colon > 0, colon < line.count, line[colon] == UInt8(ascii: ":") else { throw HTTPWireFailure("malformed field line") }
        var start = colon + 1, end = line.count
        while start < end, Self.isWhitespace(line[start]) { start += 1 }
        while end > start, Self.isWhitespace(line[end - 1]) { end -= 1 }
        let name = UnsafeRawBufferPointer(rebasing: line[..<colon]), value = UnsafeRawBufferPointer(rebasing: line[start..<end])
        guard FieldBytes.hasNoControl(value) else { throw HTTPWireFailure("a field value holds a control character") }
        try framingField(name, value)
        fields.append(line: line, name: 0..<colon, value: start..<end)
    }

    /// Reads `content-length`, `transfer-encoding`, `connection` and `expect` as they pass, and
    /// counts `host`.
    private mutating func framingField(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws {
        if name.equalsIgnoringASCIICase("content-length") {
            try Self.forEachElement(of: value) { element in
                guard element.count > 0, element.count <= 18, element.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    throw HTTPWireFailure("a content-length is not a length")
                }
                let length = element.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                guard contentLength == nil || contentLength == length else { throw HTTPWireFailure("conflicting content-length values") }
                contentLength = length
            }
        } else if name.equalsIgnoringASCIICase("transfer-encoding") {
            transferEncoding = true
            try Self.forEachElement(of: value) { element in
                guard element.count > 0 else { return }
                let isChunked = element.equalsIgnoringASCIICase("chunked")
                if isChunked && chunked { throw HTTPWireFailure("transfer-encoding names chunked twice") }
                chunked = isChunked
            }
        } else if name.equalsIgnoringASCIICase("connection") {
            Self.forEachElement(of: value) { element in
                if element.equalsIgnoringASCIICase("close") { close = true }
                if element.equalsIgnoringASCIICase("keep-alive") { keepAliveToken = true }
            }
        } else if name.equalsIgnoringASCIICase("expect") {
            expectsContinue = expectsContinue || value.equalsIgnoringASCIICase("100-continue")
        } else if name.equalsIgnoringASCIICase("host") {
            hosts += 1
        }
    }

    // MARK: - Bytes

    /// Each comma-separated element of a list value, without the whitespace around it.
    private static func forEachElement(of value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var start = 0
        while start <= value.count {
            var end = start
            while end < value.count && value[end] != UInt8(ascii: ",") { end += 1 }
            var first = start, last = end
            while first < last, isWhitespace(value[first]) { first += 1 }
            while last > first, isWhitespace(value[last - 1]) { last -= 1 }
            try body(UnsafeRawBufferPointer(rebasing: value[first..<last]))
            start = end + 1
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

}
