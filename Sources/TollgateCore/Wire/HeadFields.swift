import NIOHTTP1

/// A head's fields as they came (a client's request, an upstream's answer): every name and value
/// back to back in one array of bytes, each field a pair of ranges in it. A `String` is made only
/// for a field a reader asks for (a `String` of every name and value, made, walked with a retain
/// and a release each, and destroyed, cost more than reading the head).
struct HeadFields: Sequence, Equatable {
    private struct Field {
        let name: Range<Int>
        let value: Range<Int>
    }

    private var bytes: [UInt8] = []
    private var fields: [Field] = []

    init() {}

    init(_ pairs: some Sequence<(String, String)>) {
        for (name, value) in pairs { append(name: name, value: value) }
    }

    var count: Int { fields.count }

    /// A field read off its line: `name` and `value` are ranges of `line`, the value after the
    /// name. The line is copied once, from the name to the value's end.
    mutating func append(line: UnsafeRawBufferPointer, name: Range<Int>, value: Range<Int>) {
        if fields.isEmpty {
            bytes.reserveCapacity(384)
            fields.reserveCapacity(12)
        }
        let shift = bytes.count - name.lowerBound
        // As a typed buffer: appending raw bytes went a byte at a time.
        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[name.lowerBound..<value.upperBound]).assumingMemoryBound(to: UInt8.self))
        fields.append(Field(name: (name.lowerBound + shift)..<(name.upperBound + shift), value: (value.lowerBound + shift)..<(value.upperBound + shift)))
    }

    mutating func append(name: String, value: String) {
        let line = Array((name + value).utf8), nameCount = name.utf8.count
        line.withUnsafeBytes { append(line: $0, name: 0..<nameCount, value: nameCount..<line.count) }
    }

    /// Each field's name and value bytes, in order.
    func forEach(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            for field in fields {
                try body(UnsafeRawBufferPointer(rebasing: all[field.name]), UnsafeRawBufferPointer(rebasing: all[field.value]))
            }
        }
    }

    /// The first value of the field `name` (lower case; matched in any case), read by `read`.
    func first<Value>(_ name: StaticString, _ read: (UnsafeRawBufferPointer) -> Value) -> Value? {
        bytes.withUnsafeBytes { all in
            fields.first { UnsafeRawBufferPointer(rebasing: all[$0.name]).equalsIgnoringASCIICase(name) }
                .map { read(UnsafeRawBufferPointer(rebasing: all[$0.value])) }
        }
    }

    func first(_ name: StaticString) -> String? { first(name) { String(decoding: $0, as: UTF8.self) } }

    /// Whether any field's name `matches`.
    func contains(name matches: (UnsafeRawBufferPointer) -> Bool) -> Bool {
        bytes.withUnsafeBytes { all in fields.contains { matches(UnsafeRawBufferPointer(rebasing: all[$0.name])) } }
    }

    /// The fields whose names `wanted` picks, as text.
    func pairs(where wanted: (UnsafeRawBufferPointer) -> Bool) -> [(String, String)] {
        var picked: [(String, String)] = []
        forEach { name, value in
            if wanted(name) { picked.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))) }
        }
        return picked
    }

    /// The fields whose names are among `names` (lower case; matched in any case), as text.
    func pairs(named names: [String]) -> [(String, String)] {
        pairs { name in
            // Lengths first: most fields are none of the names, and a length is read in place.
            names.contains { lower in
                lower.utf8.count == name.count && (lower.utf8.withContiguousStorageIfAvailable { name.equalsIgnoringASCIICase(UnsafeRawBufferPointer($0)) }
                    ?? Array(lower.utf8).withUnsafeBytes { name.equalsIgnoringASCIICase($0) })
            }
        }
    }

    /// Every field as text, for readers off the request path (an error's classification, a trace).
    func makeIterator() -> some IteratorProtocol<(String, String)> {
        pairs { _ in true }.makeIterator()
    }

    /// The same fields, names and values byte for byte, in the same order (however laid out).
    static func == (a: HeadFields, b: HeadFields) -> Bool {
        a.count == b.count && a.bytes.withUnsafeBytes { x in
            b.bytes.withUnsafeBytes { y in
                zip(a.fields, b.fields).allSatisfy { f, g in
                    UnsafeRawBufferPointer(rebasing: x[f.name]).equals(UnsafeRawBufferPointer(rebasing: y[g.name]))
                        && UnsafeRawBufferPointer(rebasing: x[f.value]).equals(UnsafeRawBufferPointer(rebasing: y[g.value]))
                }
            }
        }
    }

    /// The fields as the plugin ABI's header lines (`name: value` and CRLF), names lower-cased;
    /// written in place in one pass (appending a byte at a time was most of a converted answer's
    /// handing over to its plugin).
    var abiLines: [UInt8] {
        bytes.withUnsafeBytes { all in
            [UInt8](unsafeUninitializedCapacity: all.count + 4 * fields.count) { lines, written in
                for field in fields {
                    for byte in all[field.name] {
                        lines[written] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                        written += 1
                    }
                    lines[written] = UInt8(ascii: ":")
                    lines[written + 1] = UInt8(ascii: " ")
                    written += 2
                    let value = UnsafeRawBufferPointer(rebasing: all[field.value])
                    if let from = value.baseAddress { UnsafeMutableRawPointer(lines.baseAddress! + written).copyMemory(from: from, byteCount: value.count) }
                    written += value.count
                    lines[written] = 0x0D
                    lines[written + 1] = 0x0A
                    written += 2
                }
            }
        }
    }
}

/// A client's request head: its request line, its fields as bytes, and whether the connection
/// stays open after the answer (HTTP/1.1 unless `connection: close`; HTTP/1.0 only with
/// `connection: keep-alive`), as the parser read them. Never changed once read, and shared: the
/// handler, the call and each attempt hold the one head (a retain each, not a copy of its parts).
final class RequestHead: Equatable, Sendable {
    let method: HTTPMethod
    let uri: String
    /// HTTP/1.`minor`.
    let minor: Int
    let fields: HeadFields
    let isKeepAlive: Bool

    init(method: HTTPMethod, uri: String, minor: Int = 1, fields: HeadFields = HeadFields(), isKeepAlive: Bool = true) {
        self.method = method
        self.uri = uri
        self.minor = minor
        self.fields = fields
        self.isKeepAlive = isKeepAlive
    }

    static func == (a: RequestHead, b: RequestHead) -> Bool {
        a.method == b.method && a.uri == b.uri && a.minor == b.minor && a.fields == b.fields && a.isKeepAlive == b.isKeepAlive
    }

    /// The URI without its query.
    var path: Substring { uri.uriPath }

    /// The URI's query, after the first `?` (nil without one).
    var query: Substring? { uri.queryMark.map { uri[uri.utf8.index(after: $0)...] } }
}

/// An upstream answer's head: its status and its fields.
struct AnswerHead: Equatable {
    var status: HTTPResponseStatus
    var fields: HeadFields

    init(status: HTTPResponseStatus, fields: HeadFields = HeadFields()) {
        self.status = status
        self.fields = fields
    }

    var code: Int { Int(status.code) }
}
