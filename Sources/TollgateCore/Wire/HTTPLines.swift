#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Why an HTTP/1.1 message (an upstream's answer, a client's request) cannot be read. The
/// reason is the gateway's own words, never the peer's bytes.
struct HTTPWireFailure: Error, CustomStringConvertible {
    let reason: String
    /// The head (or trailer section) outgrew its limit: a client is told 431, not 400.
    var tooLarge = false
    init(_ reason: String, tooLarge: Bool = false) {
        self.reason = reason
        self.tooLarge = tooLarge
    }
    var description: String { reason }
}

/// A parser that reads lines (a head's, a chunk's size, trailers) from the bytes of reads that
/// may cut them anywhere: `pending` holds a line's start until its end arrives.
protocol LineReading {
    var pending: [UInt8] { get set }
}

extension LineReading {
    /// Hands the next line, without its end, to `body`: read in place when the bytes hold it
    /// whole, else gathered in `pending` across reads; nil (the bytes taken) while it has not
    /// ended. A line ends with CRLF, or with a lone LF as RFC 9112 §2.2 allows unless `crlf`
    /// (a client's request: a lone LF is refused, so that no proxy in front reads the lines
    /// otherwise). `limit`: the longest it may be, else it fails with `tooLong`.
    mutating func withLine<R>(_ buffer: inout ByteBuffer, limit: Int, crlf: Bool, tooLong: @autoclosure () -> HTTPWireFailure,
                              _ body: (inout Self, UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var gathered: [UInt8] = []
        swap(&gathered, &pending)  // out of `self` while `body` changes it
        defer { swap(&gathered, &pending) }
        let (taken, result): (Int, R?) = try buffer.withUnsafeReadableBytes { bytes in
            guard let lf = HTTPLines.lineFeed(in: bytes) else {
                guard gathered.count + bytes.count <= limit + 1 else { throw tooLong() }
                gathered.append(contentsOf: bytes)
                return (bytes.count, nil)
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[..<lf])
            if gathered.isEmpty {
                return (lf + 1, try body(&self, HTTPLines.withoutCR(line, limit: limit, crlf: crlf, tooLong: tooLong())))
            }
            gathered.append(contentsOf: line)
            defer { gathered.removeAll(keepingCapacity: true) }
            return (lf + 1, try gathered.withUnsafeBytes { try body(&self, HTTPLines.withoutCR($0, limit: limit, crlf: crlf, tooLong: tooLong())) })
        }
        buffer.moveReaderIndex(forwardBy: taken)
        return result
    }
}

enum HTTPLines {
    static let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")

    static func lineFeed(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, let found = memchr(base, Int32(lf), bytes.count) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    static func withoutCR(_ line: UnsafeRawBufferPointer, limit: Int, crlf: Bool, tooLong: @autoclosure () -> HTTPWireFailure) throws -> UnsafeRawBufferPointer {
        let endsWithCR = line.last == cr
        guard endsWithCR || !crlf else { throw HTTPWireFailure("a line ends with a lone LF") }
        let line = endsWithCR ? UnsafeRawBufferPointer(start: line.baseAddress, count: line.count - 1) : line
        guard line.count <= limit else { throw tooLong() }
        return line
    }
}
