import NIOCore
import NIOHTTP1

/// Reads a client's HTTP/1.1 requests from its connection's bytes, one after another: the head
/// (request line and fields), then the body as RFC 9112 §6.3 frames it — chunked,
/// `content-length`, else none. Body parts are slices of the bytes read, not copies.
///
/// The gateway's own, in place of NIO's parser (llhttp, a callback and a String per name and
/// value, one channel handler more a read). A client is the least trusted party there is, and
/// the gateway may stand behind other proxies, so where a message could be read two ways it is
/// refused rather than guessed at (request smuggling): transfer-encoding with content-length,
/// a last coding that is not chunked, transfer-encoding on HTTP/1.0, different content-lengths,
/// obs-fold, a line ending in a lone LF, a control character in a field, two `host` fields (or
/// none on HTTP/1.1). A head over `HeadInProgress.maxBytes` fails as `tooLarge` (the client is
/// told 431). Empty lines before a request line are skipped (RFC 9112 §2.2). After a failure
/// nothing more is read.
struct RequestParser: LineReading {
    enum Part {
        case head(RequestHead, RequestBody)
        case body(ByteBuffer)
        case end
    }

    /// What the head says of the body to come, as the parser read it (so the head's fields are
    /// not searched again).
    struct RequestBody: Equatable {
        /// Its length; nil when it is chunked.
        var length: Int?
        /// `expect: 100-continue`: the client waits for a go-ahead before sending it.
        var expectsContinue = false
    }

    private enum State { case head, body, failed }

    private var state = State.head
    /// A head line split across reads, gathered until its end.
    var pending: [UInt8] = []
    private var head = HeadInProgress()
    private var body = BodyReader()

    /// The next part from `buffer` (consumed as far as it is read); nil when more bytes are
    /// needed. Throws an `HTTPWireFailure` for a request that cannot be read, and from then on
    /// reads nothing.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTPWireFailure) -> Part? {
        do {
            return try read(&buffer)
        } catch {
            state = .failed
            throw error as? HTTPWireFailure ?? HTTPWireFailure("\(error)")  // the readers throw nothing else
        }
    }

    private mutating func read(_ buffer: inout ByteBuffer) throws -> Part? {
        while true {
            switch state {
            case .failed:
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return nil
            case .head:
                guard let read = try withLine(&buffer, limit: head.room, crlf: true, tooLong: Self.tooLong, { try $0.takeHeadLine($1) }) else {
                    return nil
                }
                if let part = read { return part }
            case .body:
                switch try body.next(&buffer) {
                case nil: return nil
                case .data(let slice): return .body(slice)
                case .end:
                    state = .head
                    head = HeadInProgress()
                    return .end
                }
            }
        }
    }

    private static var tooLong: HTTPWireFailure { HeadInProgress.tooLong("the request head") }

    /// A line of the head: the request line, a field, or the blank line that ends it.
    private mutating func takeHeadLine(_ line: UnsafeRawBufferPointer) throws -> Part? {
        head.bytes += line.count + 2
        if head.request == nil {
            if !line.isEmpty { try head.readRequestLine(line) } else if head.bytes > HeadInProgress.maxBytes { throw Self.tooLong }
            return nil
        }
        if !line.isEmpty {
            try head.readField(line)
            return nil
        }
        let framing = try framing()
        try checkHost()
        body.start(framing, trailerRoom: head.room, crlf: true)
        state = .body
        let length: Int? = if case .length(let length) = framing { length } else { nil }
        return .head(head.takeRequestHead(), RequestBody(length: length, expectsContinue: head.expectsContinue))
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request names its host, and no request names it twice (which
    /// of two a proxy in front of the gateway went by cannot be known).
    private func checkHost() throws {
        if head.hosts > 1 { throw HTTPWireFailure("more than one host field") }
        if head.hosts == 0 && head.request!.minor > 0 { throw HTTPWireFailure("an HTTP/1.1 request without a host field") }
    }

    /// How the body is framed (RFC 9112 §6.3): a request without either field has none.
    private func framing() throws -> BodyReader.Framing {
        guard head.transferEncoding else { return .length(head.contentLength ?? 0) }
        guard head.contentLength == nil else { throw HTTPWireFailure("transfer-encoding and content-length together") }
        guard head.request!.minor > 0 else { throw HTTPWireFailure("transfer-encoding on an HTTP/1.0 request") }
        guard head.chunked else { throw HTTPWireFailure("the last transfer coding is not chunked") }
        return .chunked
    }
}
