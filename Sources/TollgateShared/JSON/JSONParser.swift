/// Why a JSON text was refused, with the byte offset where reading stopped.
public struct JSONError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 reader over raw bytes: validates UTF-8 in strings, bounds nesting depth, and
/// can either skip a value (no allocation) or build a `JSONValue`.
public struct JSONParser {
    public static let maxDepth = 128

    public let bytes: UnsafeRawBufferPointer
    public internal(set) var position = 0
    var depth = 0
    /// The members and items of the containers being read, stacked: each container is copied out
    /// once at its exact size instead of growing an array an element at a time (most objects
    /// have two to five members, which cost two or three allocations that way).
    private var pendingMembers: [JSONValue.Member] = []
    private var pendingItems: [JSONValue] = []
    static let pendingCapacity = 16

    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses a whole document (one value, optional surrounding whitespace).
    public static func parse(_ bytes: some Sequence<UInt8>) throws -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBytes { (raw) throws -> JSONValue in
            var parser = JSONParser(raw)
            let value = try parser.parseValue()
            try parser.expectEnd()
            return value
        }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Checks that bytes hold one valid JSON document without building it; nil when they do.
    public static func validate(_ raw: UnsafeRawBufferPointer) -> JSONError? {
        var parser = JSONParser(raw)
        do {
            try parser.skipValue()
            try parser.expectEnd()
            return nil
        } catch let error as JSONError {
            return error
        } catch {
            return JSONError(message: "\(error)", offset: 0)
        }
    }

    /// Parses a whole document straight from borrowed bytes.
    public static func parse(_ raw: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = JSONParser(raw)
        let value = try parser.parseValue()
        try parser.expectEnd()
        return value
    }

    // MARK: Reading primitives

    var atEnd: Bool { position >= bytes.count }

    func fail(_ message: String) -> JSONError { JSONError(message: message, offset: position) }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next byte past any whitespace. Inlined for the common case, a token right here (no
    /// byte above the space is whitespace): it runs before every token.
    @inline(__always)
    public mutating func peek() throws -> UInt8 {
        if position < bytes.count, bytes[position] > 0x20 { return bytes[position] }
        return try peekPastWhitespace()
    }

    private mutating func peekPastWhitespace() throws -> UInt8 {
        skipWhitespace()
        guard position < bytes.count else { throw fail("unexpected end of JSON") }
        return bytes[position]
    }

    mutating func expect(_ byte: UInt8) throws {
        guard try peek() == byte else { throw unexpected() }
        position += 1
    }

    public mutating func expectEnd() throws {
        skipWhitespace()
        if position < bytes.count { throw fail("unexpected data after the JSON value") }
    }

    func unexpected() -> JSONError {
        guard position < bytes.count else { return fail("unexpected end of JSON") }
        let byte = bytes[position]
        if byte >= 0x20 && byte < 0x7F {
            return fail("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
        return fail("unexpected byte 0x\(String(byte, radix: 16))")
    }

    mutating func enter() throws {
        depth += 1
        if depth > Self.maxDepth { throw fail("JSON nested deeper than \(Self.maxDepth) levels") }
    }

    // MARK: Skipping

    /// Validates and steps over one value without building it.
    public mutating func skipValue() throws {
        switch try peek() {
        case UInt8(ascii: "{"):
            try enter()
            position += 1
            if try peek() == UInt8(ascii: "}") { position += 1; depth -= 1; return }
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                _ = try scanString()
                try expect(UInt8(ascii: ":"))
                try skipValue()
                if try nextInContainer(closing: UInt8(ascii: "}")) { break }
            }
            depth -= 1
        case UInt8(ascii: "["):
            try enter()
            position += 1
            if try peek() == UInt8(ascii: "]") { position += 1; depth -= 1; return }
            while true {
                try skipValue()
                if try nextInContainer(closing: UInt8(ascii: "]")) { break }
            }
            depth -= 1
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try scanNumber()
        }
    }

    /// After a member: true when the container closed, false after a comma.
    mutating func nextInContainer(closing: UInt8) throws -> Bool {
        let byte = try peek()
        position += 1
        if byte == closing { return true }
        if byte == UInt8(ascii: ",") { return false }
        position -= 1
        throw unexpected()
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw fail("unexpected end of JSON") }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] {
            throw unexpected()
        }
        position += count
    }

    /// Steps over a string token; returns the range between the quotes and whether it has escapes.
    public mutating func scanString() throws -> (range: Range<Int>, escaped: Bool) {
        position += 1  // opening quote
        let start = position
        var escaped = false
        while position < bytes.count {
            // Eight plain bytes at a time (long prompts are mostly text, and this step dominated
            // the scan of a 1 MB body); a word with a special byte jumps straight to the first.
            while position + 8 <= bytes.count {
                let special = Self.specialBytes(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)))
                guard special == 0 else { position += special.trailingZeroBitCount >> 3; break }
                position += 8
            }
            guard position < bytes.count else { break }
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return (start..<(position - 1), escaped)
            case UInt8(ascii: "\\"):
                escaped = true
                try skipEscape()
            case 0x00..<0x20:
                throw fail("control character in string")
            case 0x80...:
                try skipUTF8Sequence(lead: byte)
            default:
                position += 1
            }
        }
        throw fail("unterminated string")
    }

    /// The high bit of each byte of the word (first byte lowest) that is a quote, a backslash, a
    /// control character or not ASCII. The lowest bit set is always the first such byte (a bit
    /// above it may be set wrongly, by a borrow); 0 when there is none.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        word & 0x8080_8080_8080_8080 | JSONValue.escapedBytes(word)
    }

    mutating func skipEscape() throws {
        guard position + 1 < bytes.count else { throw fail("unterminated string") }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 2
        case UInt8(ascii: "u"):
            guard position + 6 <= bytes.count else { throw fail("unterminated string") }
            for i in 2..<6 where hexValue(bytes[position + i]) == nil {
                throw fail("invalid \\u escape")
            }
            position += 6
        default:
            throw fail("invalid escape")
        }
    }

    /// Checks one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    mutating func skipUTF8Sequence(lead: UInt8) throws {
        let length: Int
        var lowerBound: UInt8 = 0x80
        var upperBound: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lowerBound = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upperBound = 0x9F
        case 0xF0: length = 4; lowerBound = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upperBound = 0x8F
        default: throw fail("invalid UTF-8")
        }
        guard position + length <= bytes.count else { throw fail("invalid UTF-8") }
        let second = bytes[position + 1]
        guard second >= lowerBound && second <= upperBound else { throw fail("invalid UTF-8") }
        for i in 2..<length where bytes[position + i] & 0xC0 != 0x80 {
            throw fail("invalid UTF-8")
        }
        position += length
    }

    /// Steps over a number token; returns its range.
    mutating func scanNumber() throws -> Range<Int> {
        let start = position
        if position < bytes.count && bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else {
            position = start
            throw unexpected()
        }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("invalid number") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count && (bytes[position] | 0x20) == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) {
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw fail("invalid number") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        return start..<position
    }

    // MARK: Reading without a tree

    /// The number at the parser as a tree's `int64Value` reads it (Int64 of its text: a
    /// fraction, an exponent or a value past Int64 is nil), read off its digits; any other value
    /// is stepped over, nil. (Through a String, a count cost three times as much.)
    public mutating func readInt64() throws -> Int64? {
        let first = try peek()
        guard first == UInt8(ascii: "-") || isDigit(first) else {
            try skipValue()
            return nil
        }
        let range = try scanNumber()
        let negative = first == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for byte in UnsafeRawBufferPointer(rebasing: bytes[(negative ? range.lowerBound + 1 : range.lowerBound)..<range.upperBound]) {
            guard isDigit(byte) else { return nil }
            let (tens, over) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, past) = tens.addingReportingOverflow(UInt64(byte &- 0x30))
            guard !over, !past else { return nil }
            magnitude = sum
        }
        guard magnitude <= (negative ? Int64.min.magnitude : UInt64(Int64.max)) else { return nil }
        return negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude)
    }

    /// Steps through the object that starts at the parser (the caller saw its `{`), handing
    /// `member` each member's name, decoded when it was written with escapes (a name is what a
    /// tree's key would be), with the parser at the value, which `member` must consume.
    public mutating func readObject(_ member: (UnsafeRawBufferPointer, inout JSONParser) throws -> Void) throws {
        try enter()
        position += 1
        if try peek() == UInt8(ascii: "}") { position += 1; depth -= 1; return }
        while true {
            guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let (range, escaped) = try scanString()
            try expect(UInt8(ascii: ":"))
            if escaped {
                let decoded = Array(Self.decodeString(bytes, range: range, escaped: true).utf8)
                try decoded.withUnsafeBytes { try member($0, &self) }
            } else {
                try member(UnsafeRawBufferPointer(rebasing: bytes[range]), &self)
            }
            if try nextInContainer(closing: UInt8(ascii: "}")) { break }
        }
        depth -= 1
    }

    /// Steps through the array that starts at the parser (the caller saw its `[`), handing
    /// `element` the parser at each item, which `element` must consume.
    public mutating func readArray(_ element: (inout JSONParser) throws -> Void) throws {
        try enter()
        position += 1
        if try peek() == UInt8(ascii: "]") { position += 1; depth -= 1; return }
        while true {
            try element(&self)
            if try nextInContainer(closing: UInt8(ascii: "]")) { break }
        }
        depth -= 1
    }

    /// The decoded bytes of the string token between `range` (from `scanString`), appended.
    public func appendString(_ range: Range<Int>, escaped: Bool, to out: inout [UInt8]) {
        guard escaped else { return out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[range])) }
        out.append(contentsOf: Self.decodeString(bytes, range: range, escaped: true).utf8)
    }

    // MARK: Building values

    public mutating func parseValue() throws -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"):
            try enter()
            position += 1
            if try peek() == UInt8(ascii: "}") { position += 1; depth -= 1; return .object([]) }
            if pendingMembers.capacity == 0 { pendingMembers.reserveCapacity(Self.pendingCapacity) }
            let base = pendingMembers.count
            while true {
                guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let key = try parseString()
                try expect(UInt8(ascii: ":"))
                let value = try parseValue()  // before the append: it stacks its own members
                pendingMembers.append(.init(key, value))
                if try nextInContainer(closing: UInt8(ascii: "}")) { break }
            }
            depth -= 1
            let members = pendingMembers.popCopy(from: base)
            return .object(members)
        case UInt8(ascii: "["):
            try enter()
            position += 1
            if try peek() == UInt8(ascii: "]") { position += 1; depth -= 1; return .array([]) }
            if pendingItems.capacity == 0 { pendingItems.reserveCapacity(Self.pendingCapacity) }
            let base = pendingItems.count
            while true {
                let item = try parseValue()
                pendingItems.append(item)
                if try nextInContainer(closing: UInt8(ascii: "]")) { break }
            }
            depth -= 1
            let items = pendingItems.popCopy(from: base)
            return .array(items)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            let range = try scanNumber()
            return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
        }
    }

    mutating func parseString() throws -> String {
        let (range, escaped) = try scanString()
        return Self.decodeString(bytes, range: range, escaped: escaped)
    }

    /// Decodes the text between a string token's quotes (already validated by `scanString`).
    public static func decodeString(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, escaped: Bool) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard escaped else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let byte = raw[i]
            guard byte == UInt8(ascii: "\\") else { out.append(byte); i += 1; continue }
            let kind = raw[i + 1]
            i += 2
            switch kind {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(raw, i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 <= raw.count,
                    raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(raw, i + 2)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: String(character).utf8)
            default: out.append(kind)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex4(_ raw: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 { value = value << 4 | UInt32(hexValue(raw[at + k]) ?? 0) }
        return value
    }
}

@inline(__always) func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

@inline(__always) public func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: return byte - 0x30
    case 0x41...0x46: return byte - 0x41 + 10
    case 0x61...0x66: return byte - 0x61 + 10
    default: return nil
    }
}

extension Array {
    /// The elements from `base` on, copied into an array of exactly their count, then removed.
    /// (`Array(self[base...])` shares this array's buffer when the slice is all of it, and the
    /// removal then copies the whole stack: two allocations instead of one, at its full capacity.)
    fileprivate mutating func popCopy(from base: Int) -> [Element] {
        let copy = self[base...].withUnsafeBufferPointer { Array($0) }
        removeSubrange(base...)
        return copy
    }
}
