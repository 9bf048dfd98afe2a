#if canImport(Glibc)
import Glibc
#endif
import TollgatePluginABI

/// Helpers for the ABI's byte types, used by the core and by Swift plugins alike.
extension tollgate_type_bytes {
    public static var empty: tollgate_type_bytes { tollgate_type_bytes(ptr: nil, len: 0) }

    /// A view lent from bytes in place; valid only while the lender keeps them.
    public init(_ raw: UnsafeRawBufferPointer) {
        self.init(ptr: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), len: raw.count)
    }

    /// A copy of the borrowed bytes.
    public var array: [UInt8] { Array(raw) }
    public var string: String { String(decoding: raw, as: UTF8.self) }
    /// The borrowed bytes in place (empty for a null pointer or a length below one), valid
    /// while the lender keeps them.
    public var raw: UnsafeRawBufferPointer {
        guard let ptr, len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: ptr, count: len)
    }
}

extension tollgate_type_buffer {
    public static var empty: tollgate_type_buffer { tollgate_type_buffer(ptr: nil, len: 0) }

    public var array: [UInt8] { Array(raw) }
    public var string: String { String(decoding: raw, as: UTF8.self) }
    public var raw: UnsafeRawBufferPointer {
        guard let ptr, len > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: ptr, count: len)
    }

    /// A malloc'd copy of `bytes`; whoever receives it releases it with free().
    public static func allocate(_ bytes: UnsafeRawBufferPointer) -> tollgate_type_buffer {
        guard let base = bytes.baseAddress, bytes.count > 0, let memory = malloc(bytes.count) else { return .empty }
        memory.copyMemory(from: base, byteCount: bytes.count)
        return tollgate_type_buffer(ptr: memory.assumingMemoryBound(to: UInt8.self), len: bytes.count)
    }

    public static func allocate(_ bytes: [UInt8]) -> tollgate_type_buffer { bytes.withUnsafeBytes { allocate($0) } }

    /// A malloc'd copy of the text's UTF-8, read in place.
    public static func allocate(_ text: String) -> tollgate_type_buffer {
        var text = text
        return text.withUTF8 { allocate(UnsafeRawBufferPointer($0)) }
    }

    /// Releases a buffer made by `allocate`.
    public static func release(_ buffer: UnsafeMutablePointer<tollgate_type_buffer>?) {
        guard let buffer else { return }
        free(buffer.pointee.ptr)
        buffer.pointee = .empty
    }
}

/// Runs `body` with a borrowed view of `bytes` (valid only during the call).
@inlinable public func withBytesView<R>(_ bytes: [UInt8], _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes { try body(tollgate_type_bytes($0)) }
}

/// A borrowed view of the text's UTF-8 (in place: no copy for a native string).
@inlinable public func withBytesView<R>(_ text: String, _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    var text = text
    return try text.withUTF8 { try body(tollgate_type_bytes(UnsafeRawBufferPointer($0))) }
}

/// The ABI's header encoding: "Name: value\r\n" lines.
public enum HeaderLines {
    /// Splits on LF bytes (a String would treat CRLF as one character); drops CR and blanks.
    public static func parse(_ bytes: [UInt8]) -> [(String, String)] {
        bytes.withUnsafeBytes { parse($0) }
    }

    /// Reads the lines in place, in one pass (every hook call that carries headers comes here:
    /// a plugin reads the core's headers through `raw`, without copying them first).
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [(String, String)] {
        var headers: [(String, String)] = []
        var lines = 1
        for byte in bytes where byte == 0x0A { lines += 1 }
        headers.reserveCapacity(lines)  // one allocation, not one a doubling
        var lineStart = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let end = lineEnd > lineStart && bytes[lineEnd - 1] == 0x0D ? lineEnd - 1 : lineEnd
            if let colon = (lineStart..<end).first(where: { bytes[$0] == UInt8(ascii: ":") }) {
                let name = trim(bytes, lineStart..<colon)
                if !name.isEmpty { headers.append((name, trim(bytes, (colon + 1)..<end))) }
            }
            lineStart = lineEnd + 1
        }
        return headers
    }

    /// The lines, names lower-cased when asked (what plugins compare an upstream's head with).
    /// Inlinable, as the three below: specialized where they are called, not run as generic
    /// code (which allocated while iterating the pairs, three times a plugin request).
    @inlinable public static func format(_ headers: some Collection<(String, String)>, lowercasingNames: Bool = false) -> [UInt8] {
        let size = byteCount(headers)
        return [UInt8](unsafeUninitializedCapacity: size) { out, count in
            write(headers, lowercasingNames: lowercasingNames, into: UnsafeMutableRawBufferPointer(out))
            count = size
        }
    }

    /// The lines written straight into a malloc'd ABI buffer (no array in between).
    @inlinable public static func allocate(_ headers: some Collection<(String, String)>, lowercasingNames: Bool = false) -> tollgate_type_buffer {
        let size = byteCount(headers)
        guard size > 0, let memory = malloc(size) else { return .empty }
        write(headers, lowercasingNames: lowercasingNames, into: UnsafeMutableRawBufferPointer(start: memory, count: size))
        return tollgate_type_buffer(ptr: memory.assumingMemoryBound(to: UInt8.self), len: size)
    }

    @inlinable static func byteCount(_ headers: some Collection<(String, String)>) -> Int {
        headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 }
    }

    /// Writes exactly `byteCount(headers)` bytes: each name and value copied whole (a byte at a
    /// time, through a closure that captured the position, cost an exclusivity check a byte).
    @inlinable static func write(_ headers: some Collection<(String, String)>, lowercasingNames: Bool,
                              into out: UnsafeMutableRawBufferPointer) {
        var at = 0
        for (name, value) in headers {
            at = copy(name, lowercasing: lowercasingNames, into: out, at: at)
            out[at] = UInt8(ascii: ":")
            out[at + 1] = UInt8(ascii: " ")
            at = copy(value, lowercasing: false, into: out, at: at + 2)
            out[at] = 0x0D
            out[at + 1] = 0x0A
            at += 2
        }
    }

    /// Copies the text's bytes to `at` (ASCII capitals lower-cased when asked); where it ends.
    @usableFromInline static func copy(_ text: String, lowercasing: Bool, into out: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            let target = UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + bytes.count)])
            target.copyMemory(from: UnsafeRawBufferPointer(bytes))
            if lowercasing {
                for index in target.indices where target[index] &- 0x41 < 26 { target[index] |= 0x20 }
            }
            return at + bytes.count
        }
    }

    /// The bytes in `range` without leading and trailing blanks, as a String.
    private static func trim(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        var start = range.lowerBound, end = range.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
}

/// Reads a C string a plugin owns, bounded so a missing NUL cannot run away.
public func boundedCString(_ pointer: UnsafePointer<CChar>?, limit: Int = 256) -> String? {
    guard let pointer else { return nil }
    var length = 0
    while length < limit && pointer[length] != 0 { length += 1 }
    guard length < limit else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
}
