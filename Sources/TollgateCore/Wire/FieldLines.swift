#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import TollgateShared

/// Header lines checked and made into bytes once. A channel's own headers (host, content type,
/// its key) are the same on every request: `HTTPHead.writeRequest` copies their bytes in one go
/// instead of walking, checking and copying each name and value again (3,000 instructions and
/// forty reference counts a request). A plugin's headers, new with each request, are made into
/// lines straight from the ABI's bytes (`init(pluginLines:host:)`).
struct FieldLines: Sendable {
    /// `name: value` and CRLF for each header, in order.
    let bytes: [UInt8]
    /// The first header that cannot be written (a byte that would split the head): a request
    /// with these lines fails naming it, as it did when the lines were written per request.
    let bad: String?
    /// What the lines were made from, when that was a list.
    private let source: HTTPHeaders?

    static let none = FieldLines(HTTPHeaders())

    init(_ headers: HTTPHeaders) {
        var buffer = ByteBufferAllocator().buffer(capacity: 0)
        let bad = HTTPHead.writeFields(headers, into: &buffer)
        self.init(bytes: Array(buffer.readableBytesView), bad: bad, source: headers)
    }

    /// Lines already checked (an upstream's fields, checked as they were read).
    init(checkedLines: [UInt8]) { self.init(bytes: checkedLines, bad: nil, source: nil) }

    /// The headers (health probes send a channel's; a trace replaces one of a plugin's; a
    /// translated answer's head replaces its content type).
    var headers: HTTPHeaders { source ?? HTTPHeaders(HeaderLines.parse(bytes)) }

    /// These lines without any header called `name` (made again: a trace's own `traceparent`
    /// replacing a channel's is rare).
    func removing(_ name: String) -> FieldLines {
        var headers = headers
        guard headers.contains(name: name) else { return self }
        headers.remove(name: name)
        return FieldLines(headers)
    }

    /// Appends `name: value` and CRLF (both checked, or known to be good).
    static func appendLine(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, to lines: inout [UInt8]) {
        lines.append(contentsOf: name)
        lines.append(UInt8(ascii: ":"))
        lines.append(UInt8(ascii: " "))
        lines.append(contentsOf: value)
        lines.append(0x0D)
        lines.append(0x0A)
    }

    /// A plugin's header lines (the ABI's `Name: value` lines, read as `HeaderLines.parse` reads
    /// them: split on LF, a CR before it dropped, names and values trimmed of spaces and tabs,
    /// lines without a colon or a name skipped) without `content-length` (the body's own is
    /// written), and `host` behind them when the plugin gave none. Copied line by line, not made
    /// into `String`s and a list first (4,000 instructions a converted request); lines with bytes
    /// past ASCII take that way, where text is made valid UTF-8 as a `String` makes it.
    init(pluginLines raw: UnsafeRawBufferPointer, host: String) {
        guard FieldBytes.isASCII(raw), let base = raw.baseAddress else {
            var headers = HTTPHeaders(HeaderLines.parse(raw))
            if !headers.contains(name: "host") { headers.add(name: "host", value: host) }
            headers.remove(name: "content-length")  // the body's own length is written
            self.init(headers)
            return
        }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + host.utf8.count + 16)
        var bad: String?, hasHost = false
        var start = 0
        while start < raw.count {
            let newline = memchr(base + start, 0x0A, raw.count - start).map { $0 - UnsafeMutableRawPointer(mutating: base) } ?? raw.count
            var end = newline > start && raw[newline - 1] == 0x0D ? newline - 1 : newline
            defer { start = newline + 1 }
            guard let colon = memchr(base + start, Int32(UInt8(ascii: ":")), end - start).map({ $0 - UnsafeMutableRawPointer(mutating: base) })
            else { continue }
            var nameStart = start, nameEnd = colon, valueStart = colon + 1
            Self.trim(raw, &nameStart, &nameEnd)
            Self.trim(raw, &valueStart, &end)
            let name = UnsafeRawBufferPointer(rebasing: raw[nameStart..<nameEnd]), value = UnsafeRawBufferPointer(rebasing: raw[valueStart..<end])
            guard !name.isEmpty, !name.equalsIgnoringASCIICase("content-length") else { continue }
            if name.equalsIgnoringASCIICase("host") { hasHost = true }
            guard FieldBytes.isToken(name), FieldBytes.staysOnLine(value) else {
                bad = bad ?? String(decoding: name, as: UTF8.self)
                continue
            }
            Self.appendLine(name, value, to: &out)
        }
        if !hasHost {
            var host = host
            host.withUTF8 { host in
                let name: StaticString = "host", value = UnsafeRawBufferPointer(host)
                guard FieldBytes.staysOnLine(value) else { return bad = bad ?? "host" }
                Self.appendLine(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value, to: &out)
            }
        }
        self.init(bytes: out, bad: bad, source: nil)
    }

    private init(bytes: [UInt8], bad: String?, source: HTTPHeaders?) {
        self.bytes = bytes
        self.bad = bad
        self.source = source
    }

    /// Narrows `start..<end` past spaces and tabs at either end.
    private static func trim(_ bytes: UnsafeRawBufferPointer, _ start: inout Int, _ end: inout Int) {
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
    }
}
