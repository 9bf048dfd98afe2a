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

    /// `METHOD target HTTP/1.1`, the channel's headers, `content-length`, `accept`, the extra
    /// headers, the blank line.
    static func writeRequest(_ head: UpstreamHead, into buffer: inout ByteBuffer) throws(Invalid) {
        let method = head.method.rawValue
        guard isToken(method) else { throw Invalid(description: "the method \(quoted(method)) is not an HTTP token") }
        guard isRequestTarget(head.uri) else {  // named without its query, which may carry a credential
            throw Invalid(description: "the path \(quoted(String(head.path))) has a space or control character")
        }
        let start = buffer.writerIndex
        buffer.writeString(method)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        if let bad = writeFields(head.headers, into: &buffer, ending: false) {
            buffer.moveWriterIndex(to: start)
            throw Invalid(description: "the header \(quoted(bad)) has a character a header cannot carry")
        }
        buffer.writeStaticString("content-length: ")
        buffer.writeString(String(head.contentLength))
        buffer.writeStaticString("\r\n")
        if let accept = head.accept {
            buffer.writeStaticString("accept: ")
            buffer.writeStaticString(accept)
            buffer.writeStaticString("\r\n")
        }
        if let bad = writeFields(head.extra, into: &buffer, ending: true) {
            buffer.moveWriterIndex(to: start)
            throw Invalid(description: "the header \(quoted(bad)) has a character a header cannot carry")
        }
    }

    /// `HTTP/1.1 status reason`, the answer's headers, the gateway's own lines, the blank line.
    /// A header line that would split the head is left out (the answer still goes out; what it
    /// carried never could), and so is a framing header: framing is `fields`' alone.
    static func writeResponse(status: HTTPResponseStatus, headers: HTTPHeaders, fields: AnswerFields, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeDecimal(Int(status.code))
        buffer.writeInteger(UInt8(ascii: " "))
        let reason = status.reasonPhrase
        if isFieldValue(reason) { buffer.writeString(reason) }
        buffer.writeStaticString("\r\n")
        let fieldsStart = buffer.writerIndex
        if writeFields(headers, into: &buffer, ending: false, skipsFraming: true) != nil {
            buffer.moveWriterIndex(to: fieldsStart)
            _ = writeFields(HTTPHeaders(headers.filter { isToken($0.name) && isFieldValue($0.value) }), into: &buffer, ending: false,
                            skipsFraming: true)
        }
        fields.write(into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// Writes `name: value` lines (and, `ending`, the blank line; `skipsFraming`, without
    /// content-length and transfer-encoding) in one pass over their bytes, checking each byte as
    /// it is copied; the name of the first header that cannot be written,
    /// else nil (the caller then rewinds: what was written is not a head).
    private static func writeFields(_ headers: HTTPHeaders, into buffer: inout ByteBuffer, ending: Bool = true,
                                    skipsFraming: Bool = false) -> String? {
        var size = ending ? 2 : 0
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        var bad: String?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            var at = 0
            for (name, value) in headers where !(skipsFraming && AnswerFields.isFraming(name)) {
                guard !name.isEmpty, let nameEnd = copy(name, into: out, at: at, isName: true) else {
                    bad = name
                    return at
                }
                out[nameEnd] = UInt8(ascii: ":")
                out[nameEnd + 1] = UInt8(ascii: " ")
                guard let valueEnd = copy(value, into: out, at: nameEnd + 2, isName: false) else {
                    bad = name
                    return nameEnd + 2
                }
                at = valueEnd
                out[at] = 0x0D
                out[at + 1] = 0x0A
                at += 2
            }
            guard ending else { return at }
            out[at] = 0x0D
            out[at + 1] = 0x0A
            return at + 2
        }
        return bad
    }

    /// Copies a header name or value to `at` once its bytes are checked (in a tight loop, then
    /// copied whole: a check and a store a byte cost twice); where it ends, or nil when a byte
    /// cannot be in it. A function of its own, not a closure: a captured position costs an
    /// exclusivity check every access.
    private static func copy(_ text: String, into out: UnsafeMutableRawBufferPointer, at: Int, isName: Bool) -> Int? {
        var text = text
        return text.withUTF8 { bytes -> Int? in
            if isName {
                for byte in bytes where !isTokenByte(byte) { return nil }
            } else {
                for byte in bytes where !isFieldByte(byte) { return nil }
            }
            UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + bytes.count)]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            return at + bytes.count
        }
    }

    /// RFC 9110 token: a method or header name.
    static func isToken(_ text: String) -> Bool { !text.isEmpty && everyByte(of: text, isTokenByte) }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }

    /// A field value (or reason phrase) that stays on its line: no CR, LF or NUL.
    static func isFieldValue(_ text: String) -> Bool { everyByte(of: text, isFieldByte) }

    private static func isFieldByte(_ byte: UInt8) -> Bool { byte != 0x0D && byte != 0x0A && byte != 0 }

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
