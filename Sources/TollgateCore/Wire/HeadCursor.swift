import NIOCore

/// Writes a head's pieces into room reserved once in its buffer. Each ByteBuffer write checks
/// the capacity and that the storage is not shared, a few hundred instructions, and a head is a
/// few dozen pieces. The room is counted up front (`ByteBuffer.writeHead`); every write checks
/// it still fits, so a miscount stops the process rather than writing past the room.
struct HeadCursor {
    private let out: UnsafeMutableRawBufferPointer
    private(set) var at = 0

    fileprivate init(_ out: UnsafeMutableRawBufferPointer) { self.out = out }

    private func room(_ count: Int) -> UnsafeMutableRawPointer {
        precondition(count <= out.count - at, "a head outgrew the room counted for it")
        return out.baseAddress! + at
    }

    mutating func put(_ text: StaticString) {
        room(text.utf8CodeUnitCount).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        at += text.utf8CodeUnitCount
    }

    /// The text once each of its bytes passes `check`; false, and nothing written, when one fails.
    mutating func put(_ text: String, checking check: (UInt8) -> Bool) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            for byte in bytes where !check(byte) { return false }
            if let base = bytes.baseAddress { room(bytes.count).copyMemory(from: base, byteCount: bytes.count) }
            at += bytes.count
            return true
        }
    }

    /// A field value (or reason phrase), once no byte of it would end or split its line.
    mutating func put(fieldValue text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard FieldBytes.staysOnLine(UnsafeRawBufferPointer(bytes)) else { return false }
            if let base = bytes.baseAddress { room(bytes.count).copyMemory(from: base, byteCount: bytes.count) }
            at += bytes.count
            return true
        }
    }

    /// Bytes already checked (a channel's `FieldLines`).
    mutating func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { room(bytes.count).copyMemory(from: base, byteCount: bytes.count) }
            at += bytes.count
        }
    }

    /// Text already checked (a method, a request target).
    mutating func put(checked text: String) { _ = put(text, checking: { _ in true }) }

    /// A non-negative integer's decimal digits.
    mutating func put(decimal value: Int) {
        var digits = 1, rest = value.magnitude
        while rest >= 10 { digits += 1; rest /= 10 }
        let start = room(digits)
        rest = value.magnitude
        for index in stride(from: digits - 1, through: 0, by: -1) {
            start.storeBytes(of: UInt8(ascii: "0") + UInt8(rest % 10), toByteOffset: index, as: UInt8.self)
            rest /= 10
        }
        at += digits
    }

    /// `name` (which carries its ": "), the value and CRLF; nothing when the value holds a byte
    /// that would split the head.
    mutating func putLine(_ name: StaticString, _ value: String) {
        let mark = at
        put(name)
        guard put(fieldValue: value) else { return rewind(to: mark) }
        put("\r\n")
    }

    mutating func rewind(to mark: Int) { at = mark }

    /// Room for a line of this name and value (and its ": " and CRLF).
    static func room(_ name: String, _ value: String) -> Int { name.utf8.count + value.utf8.count + 4 }
}

extension ByteBuffer {
    /// Writes a head of at most `room` bytes through a cursor: what the cursor wrote stays
    /// (rewound to 0, nothing).
    mutating func writeHead<Result>(room: Int, _ write: (inout HeadCursor) -> Result) -> Result {
        var result: Result?
        writeWithUnsafeMutableBytes(minimumWritableBytes: room) { out in
            var cursor = HeadCursor(out)
            result = write(&cursor)
            return cursor.at
        }
        return result!
    }
}
