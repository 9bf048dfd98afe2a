/// Compact JSON serialisation of a `JSONValue`, members in their stored order.
extension JSONValue {
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    public var jsonString: String { String(decoding: serialized(), as: UTF8.self) }

    func write<Sink: JSONSink & ~Copyable>(to out: inout Sink) {
        switch self {
        case .null: out.append(literal: "null")
        case .bool(let b): out.append(literal: b ? "true" : "false")
        case .number(let text): var text = text; text.withUTF8 { out.append(bytes: UnsafeRawBufferPointer($0)) }
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes a quoted JSON string, escaping quotes, backslashes and control characters. Runs of
    /// plain bytes are copied whole (appending byte by byte was most of a conversion's writing).
    static func writeString<Sink: JSONSink & ~Copyable>(_ s: String, to out: inout Sink) {
        var text = s
        text.withUTF8 { writeString(utf8: $0, to: &out) }
    }

    /// The same for text held as UTF-8 bytes. Eight bytes at a time while none needs escaping:
    /// an answer's text is mostly plain.
    static func writeString<Sink: JSONSink & ~Copyable>(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout Sink) {
        out.append(UInt8(ascii: "\""))
        var plain = 0, i = 0
        while i < bytes.count {
            while i + 8 <= bytes.count {
                let escaped = escapedBytes(UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)))
                guard escaped == 0 else { i += escaped.trailingZeroBitCount >> 3; break }
                i += 8
            }
            guard i < bytes.count else { break }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                out.append(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[plain..<i])))
                writeEscape(byte, to: &out)
                plain = i + 1
            }
            i += 1
        }
        out.append(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[plain...])))
        out.append(UInt8(ascii: "\""))
    }

    /// The high bit of each byte of the word (first byte lowest) that is a quote, a backslash or
    /// a control character (the zero-byte and less-than tests of "Bit Twiddling Hacks"; a byte
    /// past ASCII is plain). The lowest bit set is always the first such byte; a borrow may set
    /// one above it wrongly. 0 when there is none.
    @inline(__always)
    static func escapedBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let control = (word &- 0x2020_2020_2020_2020) & ~word & highs
        return control | zeroBytes(word ^ (ones &* 0x22)) | zeroBytes(word ^ (ones &* 0x5C))
    }

    private static func writeEscape<Sink: JSONSink & ~Copyable>(_ byte: UInt8, to out: inout Sink) {
        out.append(0x5C)
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            let hex: StaticString = "0123456789abcdef"
            out.append(literal: "u00")
            out.append(hex.utf8Start[Int(byte >> 4)])
            out.append(hex.utf8Start[Int(byte & 0xF)])
        }
    }

    /// A JSON string literal for `s`, quotes included.
    public static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        writeString(s, to: &out)
        return out
    }
}

/// Where JSON text goes: an array of bytes (a tree's serialisation) or a `JSONWriter`'s buffer.
public protocol JSONSink: ~Copyable {
    mutating func append(_ byte: UInt8)
    mutating func append(bytes: UnsafeRawBufferPointer)
}

extension JSONSink where Self: ~Copyable {
    @inline(__always)
    mutating func append(literal: StaticString) {
        append(bytes: UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }
}

extension Array: JSONSink where Element == UInt8 {
    public mutating func append(bytes: UnsafeRawBufferPointer) { append(contentsOf: bytes) }
}

/// Compact JSON written member by member straight into bytes, for an answer a conversion builds
/// once: no `JSONValue` tree in between (building one cost a converted answer about ten
/// allocations). The caller keeps the nesting balanced; commas are placed here. The bytes go into
/// a buffer of the writer's own, grown by doubling: an array's append checks its uniqueness and
/// capacity through calls each time, and a converted answer makes about two hundred of them.
public struct JSONWriter: ~Copyable, JSONSink {
    private var start: UnsafeMutableRawPointer
    private var count = 0
    private var capacity: Int
    /// A value was just completed at this level, so the next one needs a comma first.
    private var afterValue = false

    public init(capacity: Int = 256) {
        self.capacity = Swift.max(capacity, 16)
        start = .allocate(byteCount: self.capacity, alignment: 1)
    }

    deinit { start.deallocate() }

    /// What was written so far.
    public var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: start, count: count)) }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        if count == capacity { grow(1) }
        start.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    public mutating func append(bytes: UnsafeRawBufferPointer) {
        guard let from = bytes.baseAddress else { return }
        if bytes.count > capacity - count { grow(bytes.count) }
        (start + count).copyMemory(from: from, byteCount: bytes.count)
        count += bytes.count
    }

    private mutating func grow(_ needed: Int) {
        capacity = Swift.max(capacity * 2, count + needed)
        let larger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
        larger.copyMemory(from: start, byteCount: count)
        start.deallocate()
        start = larger
    }

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// A member's name; its value comes next. Names are the gateway's own literals, none with a
    /// byte to escape, so they are copied as they are (escaping each cost a converted answer
    /// about 3,000 instructions).
    public mutating func key(_ name: StaticString) {
        assert(JSONValue.quoted("\(name)").count == name.utf8CodeUnitCount + 2, "the JSON key \(name) needs escaping")
        separate()
        append(UInt8(ascii: "\""))
        append(literal: name)
        append(UInt8(ascii: "\""))
        append(UInt8(ascii: ":"))
        afterValue = false
    }

    public mutating func string(_ text: String) { separate(); JSONValue.writeString(text, to: &self); afterValue = true }
    /// A string given as its UTF-8 bytes (text a reader gathered without making a String).
    public mutating func string(utf8 text: [UInt8]) {
        separate()
        text.withUnsafeBufferPointer { JSONValue.writeString(utf8: $0, to: &self) }
        afterValue = true
    }
    /// A string token of the JSON text `source` (its range between the quotes, from
    /// `JSONParser.scanString`): copied as it is when it holds no escape (no byte of such a token
    /// needs one: quotes, backslashes and control characters cannot stand in it bare), else
    /// decoded and written again, as a tree's string would be.
    public mutating func string(token range: Range<Int>, escaped: Bool, of source: UnsafeRawBufferPointer) {
        guard escaped else {
            separate()
            append(UInt8(ascii: "\""))
            append(bytes: UnsafeRawBufferPointer(rebasing: source[range]))
            append(UInt8(ascii: "\""))
            afterValue = true
            return
        }
        string(JSONParser.decodeString(source, range: range, escaped: true))
    }
    public mutating func bool(_ value: Bool) { separate(); append(literal: value ? "true" : "false"); afterValue = true }
    public mutating func int(_ number: Int64) {
        separate()
        // Digits written last to first where they go: no String in between.
        var magnitude = number.magnitude, digits = 1
        while magnitude >= 10 { magnitude /= 10; digits += 1 }
        let length = digits + (number < 0 ? 1 : 0)
        if length > capacity - count { grow(length) }
        if number < 0 { start.storeBytes(of: UInt8(ascii: "-"), toByteOffset: count, as: UInt8.self) }
        magnitude = number.magnitude
        for at in stride(from: count + length - 1, through: count + length - digits, by: -1) {
            start.storeBytes(of: UInt8(ascii: "0") + UInt8(magnitude % 10), toByteOffset: at, as: UInt8.self)
            magnitude /= 10
        }
        count += length
        afterValue = true
    }
    public mutating func null() { separate(); append(literal: "null"); afterValue = true }
    public mutating func value(_ json: JSONValue) { separate(); json.write(to: &self); afterValue = true }

    @inline(__always) private mutating func open(_ bracket: UInt8) { separate(); append(bracket); afterValue = false }
    @inline(__always) private mutating func close(_ bracket: UInt8) { append(bracket); afterValue = true }
    @inline(__always) private mutating func separate() { if afterValue { append(UInt8(ascii: ",")) } }
}
