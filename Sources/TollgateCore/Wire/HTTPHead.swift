import NIOCore
import NIOHTTP1

/// HTTP/1.1 heads written as bytes by the gateway itself, into the buffer their body follows in:
/// no encoder handler in the pipeline (each handler a write passes costs a hop, a type check and
/// a buffer of its own). Every byte is checked on the way, as NIO's header validators did: a CR,
/// LF or NUL never splits a head, whoever (config, plugin, template, upstream) wrote the header.
enum HTTPHead {
    /// A body up to this size is copied behind its head: one buffer to write instead of two.
    static let coalescedBodyBytes = 16_384

    /// Room for a head and, behind it, a body of `bodyBytes` that will be copied in.
    static func capacity(body bodyBytes: Int) -> Int {
        512 + (bodyBytes <= coalescedBodyBytes ? bodyBytes : 0)
    }

    /// A request head that cannot be written without changing its meaning.
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// `METHOD target HTTP/1.1`, the channel's lines, the request's headers, `content-length`,
    /// `accept`, the extra headers, the blank line.
    static func writeRequest(_ head: UpstreamHead, into buffer: inout ByteBuffer) throws(Invalid) {
        let method = head.method.rawValue
        guard isToken(method) else { throw Invalid(description: "the method \(quoted(method)) is not an HTTP token") }
        guard isRequestTarget(head.uri) else {  // named without its query, which may carry a credential
            throw Invalid(description: "the path \(quoted(String(head.path))) has a space or control character")
        }
        let room = method.utf8.count + head.uri.utf8.count + 14 + head.lines.bytes.count + room(head.headers) + 38
            + (head.accept.map { $0.utf8CodeUnitCount + 10 } ?? 0) + room(head.extra)
        let bad = buffer.writeHead(room: room) { cursor -> String? in
            cursor.put(checked: method)
            cursor.put(" ")
            cursor.put(checked: head.uri)
            cursor.put(" HTTP/1.1\r\n")
            cursor.put(head.lines.bytes)
            var bad = head.lines.bad ?? putFields(head.headers, into: &cursor)
            cursor.put("content-length: ")
            cursor.put(decimal: head.contentLength)
            cursor.put("\r\n")
            if let accept = head.accept {
                cursor.put("accept: ")
                cursor.put(accept)
                cursor.put("\r\n")
            }
            bad = bad ?? putFields(head.extra, into: &cursor)
            cursor.put("\r\n")
            if bad != nil { cursor.rewind(to: 0) }  // what was written is not a head
            return bad
        }
        if let bad { throw Invalid(description: "the header \(quoted(bad)) has a character a header cannot carry") }
    }

    /// `HTTP/1.1 status reason`, the answer's headers, the gateway's own lines, the blank line.
    /// A header line that would split the head is left out (the answer still goes out; what it
    /// carried never could), and so is a framing header: framing is `fields`' alone.
    /// `lines` are an upstream's fields passed on, checked as they were read and never framing.
    static func writeResponse(status: HTTPResponseStatus, lines: FieldLines = .none, headers: HTTPHeaders, fields: AnswerFields,
                              into buffer: inout ByteBuffer) {
        let reason = status.reasonPhrase
        buffer.writeHead(room: 34 + reason.utf8.count + lines.bytes.count + room(headers) + fields.room) { cursor in
            cursor.put("HTTP/1.1 ")
            cursor.put(decimal: Int(status.code))
            cursor.put(" ")
            _ = cursor.put(fieldValue: reason)
            cursor.put("\r\n")
            cursor.put(lines.bytes)
            _ = putFields(headers, into: &cursor, skipsFraming: true)
            fields.write(into: &cursor)
            cursor.put("\r\n")
        }
    }

    /// `name: value` lines, each byte checked as it is copied (`skipsFraming`: without
    /// content-length and transfer-encoding). A line that cannot be written is left out; the
    /// name of the first such, else nil.
    private static func putFields(_ headers: HTTPHeaders, into cursor: inout HeadCursor, skipsFraming: Bool = false) -> String? {
        var bad: String?
        for (name, value) in headers where !(skipsFraming && AnswerFields.isFraming(name)) {
            let mark = cursor.at
            guard !name.isEmpty, cursor.put(name, checking: FieldBytes.isToken) else {
                bad = bad ?? name
                continue
            }
            cursor.put(": ")
            guard cursor.put(fieldValue: value) else {
                cursor.rewind(to: mark)
                bad = bad ?? name
                continue
            }
            cursor.put("\r\n")
        }
        return bad
    }

    /// `headers` as lines (see `FieldLines`): the name of the first that cannot be written (and is
    /// left out), else nil.
    static func writeFields(_ headers: HTTPHeaders, into buffer: inout ByteBuffer) -> String? {
        buffer.writeHead(room: room(headers)) { putFields(headers, into: &$0) }
    }

    /// The most bytes `headers` take as lines.
    private static func room(_ headers: HTTPHeaders) -> Int {
        var room = 0
        for (name, value) in headers { room += HeadCursor.room(name, value) }
        return room
    }

    /// RFC 9110 token: a method or header name.
    static func isToken(_ text: String) -> Bool { !text.isEmpty && everyByte(of: text, FieldBytes.isToken) }

    /// A request target: visible ASCII and UTF-8 bytes, no space or control character.
    static func isRequestTarget(_ text: String) -> Bool {
        !text.isEmpty && everyByte(of: text) { $0 > 0x20 && $0 != 0x7F }
    }

    /// Checks the text's bytes where they lie: `utf8.allSatisfy` walks them by index, several
    /// times the instructions, on every line of every head.
    private static func everyByte(of text: String, _ check: (UInt8) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for byte in bytes where !check(byte) { return false }
            return true
        }
    }

    private static func quoted(_ text: String) -> String {
        "'" + String(text.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F ? Character($0) : "?" }) + "'"
    }
}

/// The last chunk of a chunked body (no trailers).
let chunkedEnd: StaticString = "0\r\n\r\n"

extension ByteBuffer {
    /// Puts `body` behind the head in this buffer when it is small (one write); a larger one is
    /// handed back untouched, to be written after this buffer.
    mutating func coalescing(_ body: ByteBuffer) -> ByteBuffer? {
        guard body.readableBytes <= HTTPHead.coalescedBodyBytes else { return body }
        var body = body
        writeBuffer(&body)
        return nil
    }

    /// One chunk of a chunked body: its size in hex, the bytes, CRLF.
    mutating func writeChunk(_ bytes: UnsafeRawBufferPointer) {
        writeString(String(bytes.count, radix: 16))
        writeStaticString("\r\n")
        writeBytes(bytes)
        writeStaticString("\r\n")
    }
}
