#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1

/// Reads an upstream's HTTP/1.1 answers from its connection's bytes, one answer per request sent:
/// the head (status line and fields), then the body as RFC 9112 §6.3 frames it — none (a HEAD's
/// answer, 1xx, 204, 304), chunked, `content-length`, or up to the connection's close. Body parts
/// are slices of the bytes read, not copies. Informational heads (1xx but 101) are skipped.
///
/// The gateway's own, in place of NIO's parser (llhttp, a callback and a String per name and
/// value, one channel handler more a read): about 12,000 instructions an answer, a twelfth of a
/// chat request's, went there. An upstream is not trusted: a head over `maxHeadBytes`, a malformed line, a folded or
/// bare-CR field, conflicting lengths or an unreadable chunk fails the answer; bytes past an
/// answer's end make the connection unusable rather than the start of the next answer.
struct AnswerParser {
    enum Part {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        /// The answer ended; `reusable`: the connection may carry another request.
        case end(reusable: Bool)
    }

    struct Failure: Error, CustomStringConvertible {
        let reason: String
        init(_ reason: String) { self.reason = reason }
        var description: String { "upstream answer: " + reason }
    }

    static let maxHeadBytes = 80 * 1024
    /// A chunk's size line, extensions included.
    static let maxChunkLineBytes = 4096

    private enum State {
        /// No request out: the upstream has nothing to say.
        case idle
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line end after a chunk's data.
        case chunkDataEnd
        case trailers
        case untilClose
    }

    private var state = State.idle
    /// The request was a HEAD: its answer has no body whatever its fields say.
    private var headRequest = false
    /// A line split across reads, gathered until its end.
    private var pending: [UInt8] = []
    /// The head being read.
    private var head = HeadInProgress()

    /// A request went out: its answer is read next.
    mutating func expect(method: HTTPMethod) {
        state = .head
        headRequest = method == .HEAD
        pending.removeAll(keepingCapacity: true)
        head = HeadInProgress()
    }

    /// The next part of the answer from `buffer` (consumed as far as it is read); nil when more
    /// bytes are needed. Throws a `Failure` for an answer that cannot be read.
    mutating func next(_ buffer: inout ByteBuffer) throws -> Part? {
        while true {
            switch state {
            case .idle:
                guard buffer.readableBytes == 0 else { throw Failure("the upstream sent bytes with no request out") }
                return nil
            case .head:
                guard let read = try withLine(&buffer, limit: headRoom, tooLong: "the head is longer than \(Self.maxHeadBytes) bytes", { try $0.takeHeadLine($1) }) else {
                    return nil
                }
                if let part = read { return part }
            case .fixed(let remaining):
                if remaining == 0 { return end(buffer) }
                guard let slice = buffer.readSlice(length: min(remaining, buffer.readableBytes)), slice.readableBytes > 0 else { return nil }
                state = .fixed(remaining: remaining - slice.readableBytes)
                return .body(slice)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .body(buffer.readSlice(length: buffer.readableBytes)!)
            case .chunkSize:
                guard let size = try withLine(&buffer, limit: Self.maxChunkLineBytes, tooLong: "a chunk size line is longer than \(Self.maxChunkLineBytes) bytes", { try Self.chunkSize($1) }) else {
                    return nil
                }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let slice = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
                state = slice.readableBytes == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - slice.readableBytes)
                return .body(slice)
            case .chunkDataEnd:
                // CRLF or LF; a CR read alone waits in `pending` for its LF.
                guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
                if byte == UInt8(ascii: "\r") && pending.isEmpty {
                    pending.append(byte)
                } else if byte == UInt8(ascii: "\n") {
                    pending.removeAll(keepingCapacity: true)
                    state = .chunkSize
                } else {
                    throw Failure("a chunk is longer than its size")
                }
            case .trailers:
                // Trailer fields are read past, counted against the head's room.
                guard let blank = try withLine(&buffer, limit: headRoom, tooLong: "the trailer section is longer than \(Self.maxHeadBytes) bytes", { parser, line in
                    parser.head.bytes += line.count + 2
                    return line.isEmpty
                }) else { return nil }
                if blank { return end(buffer) }
            }
        }
    }

    /// The connection closed: the end of an answer read up to it, nil when no answer was under
    /// way (or none had started: the connection's own failure says more); throws when one was cut.
    mutating func finish() throws -> Part? {
        switch state {
        case .idle: return nil
        case .untilClose:
            state = .idle
            return .end(reusable: false)
        case .head where head.status == nil && pending.isEmpty: return nil
        default:
            state = .idle
            throw Failure("the connection closed before the answer ended")
        }
    }

    /// What is left of `maxHeadBytes` for the head's (or the trailers') next line.
    private var headRoom: Int { max(0, Self.maxHeadBytes - head.bytes) }

    private mutating func end(_ buffer: ByteBuffer) -> Part {
        state = .idle
        return .end(reusable: head.keepAlive && buffer.readableBytes == 0)
    }

    // MARK: - Head

    /// A line of the head: the status line, a field, or the blank line that ends it (then the head
    /// is handed out, or skipped when informational).
    private mutating func takeHeadLine(_ line: UnsafeRawBufferPointer) throws -> Part? {
        head.bytes += line.count + 2
        if head.status == nil {
            try head.readStatusLine(line)
            return nil
        }
        if !line.isEmpty {
            try head.readField(line)
            return nil
        }
        let code = head.status!.code
        if code < 200 {
            guard code != 101 else { throw Failure("the upstream switched protocols, which the gateway never asks for") }
            head = HeadInProgress()  // 100 Continue, 103 Early Hints: the answer follows
            return nil
        }
        state = framing(code: code)
        return .head(head.takeResponseHead())
    }

    /// How the body is framed (RFC 9112 §6.3).
    private mutating func framing(code: Int) -> State {
        if headRequest || code == 204 || code == 304 { return .fixed(remaining: 0) }
        if head.transferEncoding {
            // An HTTP/1.0 answer with transfer codings, or one whose last coding is not chunked,
            // ends with the connection; with a content-length beside chunked, the connection is
            // not trusted for another request.
            guard head.status!.minor > 0, head.chunked else { head.close = true; return .untilClose }
            if head.contentLength != nil { head.close = true }
            return .chunkSize
        }
        if let length = head.contentLength { return .fixed(remaining: length) }
        head.close = true
        return .untilClose
    }

    // MARK: - Lines

    /// Hands the next line, without its end (CRLF, or a lone LF as RFC 9112 §2.2 allows), to
    /// `body`: read in place when the bytes hold it whole, else gathered in `pending` across
    /// reads; nil (the bytes taken) while it has not ended. `limit`: the longest it may be, else
    /// it fails with `tooLong`.
    private mutating func withLine<R>(_ buffer: inout ByteBuffer, limit: Int, tooLong: @autoclosure () -> String,
                                      _ body: (inout AnswerParser, UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var gathered: [UInt8] = []
        swap(&gathered, &pending)  // out of `self` while `body` changes it
        defer { swap(&gathered, &pending) }
        let (taken, result): (Int, R?) = try buffer.withUnsafeReadableBytes { bytes in
            guard let lf = Self.lineFeed(in: bytes) else {
                guard gathered.count + bytes.count <= limit + 1 else { throw Failure(tooLong()) }
                gathered.append(contentsOf: bytes)
                return (bytes.count, nil)
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[..<lf])
            if gathered.isEmpty { return (lf + 1, try body(&self, Self.withoutCR(line, limit: limit, tooLong: tooLong()))) }
            gathered.append(contentsOf: line)
            defer { gathered.removeAll(keepingCapacity: true) }
            return (lf + 1, try gathered.withUnsafeBytes { try body(&self, Self.withoutCR($0, limit: limit, tooLong: tooLong())) })
        }
        buffer.moveReaderIndex(forwardBy: taken)
        return result
    }

    private static func lineFeed(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, let found = memchr(base, Int32(UInt8(ascii: "\n")), bytes.count) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    private static func withoutCR(_ line: UnsafeRawBufferPointer, limit: Int, tooLong: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        let line = line.last == UInt8(ascii: "\r") ? UnsafeRawBufferPointer(rebasing: line.dropLast()) : line
        guard line.count <= limit else { throw Failure(tooLong()) }
        return line
    }

    // MARK: - Chunks

    /// A chunk's size: hexadecimal digits, then optional whitespace and `;` extensions (ignored).
    static func chunkSize(_ line: UnsafeRawBufferPointer) throws -> Int {
        var size = 0, digits = 0, i = 0
        while i < line.count, let digit = hexValue(line[i]) {  // TollgateShared's
            guard digits < 15 else { throw Failure("a chunk size has more than 15 digits") }
            size = size << 4 | Int(digit)
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw Failure("a chunk size line has no size") }
        while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 }
        guard i == line.count || line[i] == UInt8(ascii: ";") else { throw Failure("a chunk size line has text after its size") }
        return size
    }
}
