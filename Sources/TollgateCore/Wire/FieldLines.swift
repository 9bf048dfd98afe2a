import NIOCore
import NIOHTTP1

/// Header lines checked and made into bytes once. A channel's own headers (host, content type,
/// its key) are the same on every request: `HTTPHead.writeRequest` copies their bytes in one go
/// instead of walking, checking and copying each name and value again (3,000 instructions and
/// forty reference counts a request).
struct FieldLines: Sendable {
    /// What the lines were made from (health probes send them too).
    let headers: HTTPHeaders
    /// `name: value` and CRLF for each header, in order.
    let bytes: [UInt8]
    /// The first header that cannot be written (a byte that would split the head): a request
    /// with these lines fails naming it, as it did when the lines were written per request.
    let bad: String?

    static let none = FieldLines(HTTPHeaders())

    init(_ headers: HTTPHeaders) {
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        bad = HTTPHead.writeFields(headers, into: &buffer)
        self.headers = headers
        bytes = Array(buffer.readableBytesView)
    }

    /// These lines without any header called `name` (made again: a trace's own `traceparent`
    /// replacing a channel's is rare).
    func removing(_ name: String) -> FieldLines {
        guard headers.contains(name: name) else { return self }
        var headers = headers
        headers.remove(name: name)
        return FieldLines(headers)
    }
}
