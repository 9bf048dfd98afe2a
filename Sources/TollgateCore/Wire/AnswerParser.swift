import NIOCore
import NIOHTTP1

/// Reads an upstream's HTTP/1.1 answers from its connection's bytes, one answer per request sent:
/// the head (status line and fields), then the body as RFC 9112 §6.3 frames it — none (a HEAD's
/// answer, 1xx, 204, 304), chunked, `content-length`, or up to the connection's close. Body parts
/// are slices of the bytes read, not copies. Informational heads (1xx but 101) are skipped.
///
/// The gateway's own, in place of NIO's parser (llhttp, a callback and a String per name and
/// value, one channel handler more a read): about 12,000 instructions an answer, a twelfth of a
/// chat request's, went there. An upstream is not trusted: a head over `HeadInProgress.maxBytes`, a malformed line, a folded or
/// bare-CR field, conflicting lengths or an unreadable chunk fails the answer; bytes past an
/// answer's end make the connection unusable rather than the start of the next answer.
struct AnswerParser: LineReading {
    enum Part {
        case head(AnswerHead)
        case body(ByteBuffer)
        /// The answer ended; `reusable`: the connection may carry another request.
        case end(reusable: Bool)
    }

    typealias Failure = HTTPWireFailure

    private enum State {
        /// No request out: the upstream has nothing to say.
        case idle
        case head
        case body
    }

    private var state = State.idle
    /// The request was a HEAD: its answer has no body whatever its fields say.
    private var headRequest = false
    /// A head line split across reads, gathered until its end.
    var pending: [UInt8] = []
    /// The head being read.
    private var head = HeadInProgress()
    private var body = BodyReader()

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
                guard let read = try withLine(&buffer, limit: head.room, crlf: false, tooLong: HeadInProgress.tooLong("the head"),
                                              { try $0.takeHeadLine($1) }) else {
                    return nil
                }
                if let part = read { return part }
            case .body:
                switch try body.next(&buffer) {
                case nil: return nil
                case .data(let slice): return .body(slice)
                case .end:
                    state = .idle
                    return .end(reusable: head.keepAlive && buffer.readableBytes == 0)
                }
            }
        }
    }

    /// The connection closed: the end of an answer read up to it, nil when no answer was under
    /// way (or none had started: the connection's own failure says more); throws when one was cut.
    mutating func finish() throws -> Part? {
        switch state {
        case .idle: return nil
        case .body where body.endsWithClose:
            state = .idle
            return .end(reusable: false)
        case .head where head.status == nil && pending.isEmpty: return nil
        default:
            state = .idle
            throw Failure("the connection closed before the answer ended")
        }
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
        body.start(framing(code: code), trailerRoom: head.room, crlf: false)
        state = .body
        return .head(head.takeResponseHead())
    }

    /// How the body is framed (RFC 9112 §6.3).
    private mutating func framing(code: Int) -> BodyReader.Framing {
        if headRequest || code == 204 || code == 304 { return .length(0) }
        if head.transferEncoding {
            // An HTTP/1.0 answer with transfer codings, or one whose last coding is not chunked,
            // ends with the connection; with a content-length beside chunked, the connection is
            // not trusted for another request.
            guard head.status!.minor > 0, head.chunked else { head.close = true; return .untilClose }
            if head.contentLength != nil { head.close = true }
            return .chunked
        }
        if let length = head.contentLength { return .length(length) }
        head.close = true
        return .untilClose
    }
}
