/// What the gateway must know about a client's JSON body to route it, read in one validating pass
/// without building the document: the model, whether a stream was asked for, and where the fields
/// the passthrough may edit (model, stream_options) sit in the bytes.
public struct RequestScan: Sendable, Equatable {
    public var model: String?
    /// Byte range of the model's string token, quotes included (for a `model_map` rename).
    public var modelRange: Range<Int>?
    public var stream = false
    /// `stream_options.include_usage`, when present.
    public var includeUsage: Bool?
    /// Byte range of the `stream_options` value, when present.
    public var streamOptionsRange: Range<Int>?
    /// Offset just after the opening `{`.
    public var bodyStart = 0

    /// Scans a request body. Throws for anything that is not a valid JSON object.
    public static func scan(_ bytes: UnsafeRawBufferPointer) throws -> RequestScan {
        var parser = JSONParser(bytes)
        var scan = RequestScan()
        var seen: UInt8 = 0  // bits of `model`, `stream`, `stream_options`, `service_tier` read so far
        guard try parser.peek() == UInt8(ascii: "{") else {
            throw parser.fail("request body must be a JSON object")
        }
        try parser.enter()
        parser.position += 1
        scan.bodyStart = parser.position
        if try parser.peek() == UInt8(ascii: "}") {
            parser.position += 1  // an empty object
        } else {
            while true {
                guard try parser.peek() == UInt8(ascii: "\"") else { throw parser.fail("expected a string key") }
                let keyStart = parser.position
                let (keyRange, keyEscaped) = try parser.scanString()
                try parser.expect(UInt8(ascii: ":"))
                if keyEscaped {
                    // Rare: a key spelled with escapes (`"mod\u0065l"`) is still that key to an
                    // upstream's JSON parser, so it is decoded and read like the plain one.
                    let decoded = Array(JSONParser.decodeString(bytes, range: keyRange, escaped: true).utf8)
                    try decoded.withUnsafeBytes { try scan.readMember(key: $0, keyStart: keyStart, seen: &seen, parser: &parser) }
                } else {
                    try scan.readMember(key: UnsafeRawBufferPointer(rebasing: bytes[keyRange]), keyStart: keyStart, seen: &seen,
                                         parser: &parser)
                }
                if try parser.nextInContainer(closing: UInt8(ascii: "}")) { break }
            }
        }
        try parser.expectEnd()
        return scan
    }

    public static func scan(_ bytes: [UInt8]) throws -> RequestScan {
        try bytes.withUnsafeBytes { (raw) throws in try scan(raw) }
    }

    /// Reads the fields routing needs. Each may appear once: with two `model`s the gateway would
    /// route and authorize one name while an upstream (most JSON parsers keep the last) used
    /// another, so a repeated one is refused (found by fuzzing). `service_tier` is not read but
    /// may not repeat either: it decides what the upstream serves, and so the price.
    private mutating func readMember(key: UnsafeRawBufferPointer, keyStart: Int, seen: inout UInt8,
                                     parser: inout JSONParser) throws {
        let bit = Self.routingBit(key)
        if seen & bit != 0 {
            throw JSONError(message: "duplicate \"\(String(decoding: key, as: UTF8.self))\" member", offset: keyStart)
        }
        seen |= bit
        _ = try parser.peek()
        let start = parser.position
        if bit == 1 {
            guard try parser.peek() == UInt8(ascii: "\"") else { throw parser.fail("\"model\" must be a string") }
            let (range, escaped) = try parser.scanString()
            model = JSONParser.decodeString(parser.bytes, range: range, escaped: escaped)
            modelRange = start..<parser.position
        } else if bit == 2 {
            let value = try parser.parseValue()
            switch value {
            case .bool(let b): stream = b
            case .null: stream = false
            default: throw JSONError(message: "\"stream\" must be a boolean", offset: start)
            }
        } else if bit == 4 {
            let value = try parser.parseValue()
            streamOptionsRange = start..<parser.position
            includeUsage = value["include_usage"]?.boolValue
        } else {
            try parser.skipValue()
        }
    }

    /// The member's bit in `seen`: 1 `model`, 2 `stream`, 4 `stream_options`, 8 `service_tier`,
    /// 0 any other.
    private static func routingBit(_ key: UnsafeRawBufferPointer) -> UInt8 {
        key.equals("model") ? 1 : key.equals("stream") ? 2 : key.equals("stream_options") ? 4 : key.equals("service_tier") ? 8 : 0
    }
}

extension RequestScan {
    /// Where and what to write so a streamed request's upstream reports usage: its
    /// `stream_options` with `include_usage: true` (any other stream option kept), or that member
    /// added first when there is none. `body` is the scanned request's.
    public func includeUsageEdit(in body: UnsafeRawBufferPointer) -> (range: Range<Int>, bytes: [UInt8]) {
        guard let range = streamOptionsRange else {
            return (bodyStart..<bodyStart, Array(#""stream_options":{"include_usage":true},"#.utf8))
        }
        let original = try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: body[range]))
        var members = original?.objectValue?.filter { $0.key != "include_usage" } ?? []
        members.append(.init("include_usage", .bool(true)))
        return (range, JSONValue.object(members).serialized())
    }
}

extension RequestScan {
    /// Member names to look up, held as bytes so a lookup on the request path converts nothing.
    public struct MemberNames: Sendable {
        let bytes: [[UInt8]]
        /// At most 64 names.
        public init(_ names: String...) {
            precondition(names.count <= 64, "at most 64 member names")
            bytes = names.map { Array($0.utf8) }
        }
    }

    /// Parses one top-level member of a JSON object (e.g. an answer's `usage`), skipping the rest
    /// without building it. Nil when the text is not an object or lacks the member.
    public static func member(_ name: String, in bytes: UnsafeRawBufferPointer) -> JSONValue? {
        members(MemberNames(name), in: bytes)[0]
    }

    /// Parses the named top-level members in one pass (the first of a repeated name), skipping
    /// the rest; stops once all are found. The values come in the order of `names`, nil for a
    /// member that is missing or when the text is not an object.
    public static func members(_ names: MemberNames, in bytes: UnsafeRawBufferPointer) -> [JSONValue?] {
        var found = [JSONValue?](repeating: nil, count: names.bytes.count)
        visitMembers(names, in: bytes) { index, parser in found[index] = try parser.parseValue() }
        return found
    }

    /// What a passthrough bills of an OpenAI answer. A struct, not a tuple: a tuple was copied
    /// and destroyed through the runtime's generic witnesses.
    public struct BilledAnswer {
        public var usage: TokenUsage?
        public var serviceTier: JSONValue?
    }

    /// An OpenAI answer's `usage`, read off its bytes without building a tree (see
    /// `TokenUsage.readOpenAI`), and its `service_tier`.
    public static func openAIAnswer(_ bytes: UnsafeRawBufferPointer) -> BilledAnswer {
        var answer = BilledAnswer()
        visitMembers(answerMembers, in: bytes) { index, parser in
            if index == 0 { answer.usage = try TokenUsage.readOpenAI(&parser) } else { answer.serviceTier = try parser.parseValue() }
        }
        return answer
    }

    static let answerMembers = MemberNames("usage", "service_tier")

    /// Hands the parser, at the value, to `read` for the first of each named top-level member
    /// (compared as written, escapes and all), skipping the rest; stops once each was read, or
    /// at the first error (a member whose value fails was not read).
    static func visitMembers(_ names: MemberNames, in bytes: UnsafeRawBufferPointer,
                             _ read: (Int, inout JSONParser) throws -> Void) {
        var parser = JSONParser(bytes)
        var done: UInt64 = 0
        var missing = names.bytes.count
        do {
            guard try parser.peek() == UInt8(ascii: "{") else { return }
            try parser.enter()
            parser.position += 1
            if try parser.peek() == UInt8(ascii: "}") { return }
            while missing > 0 {
                guard try parser.peek() == UInt8(ascii: "\"") else { return }
                let (range, _) = try parser.scanString()
                try parser.expect(UInt8(ascii: ":"))
                let key = UnsafeRawBufferPointer(rebasing: bytes[range])
                if let index = names.bytes.firstIndex(where: { key.equals($0) }), done & (1 << index) == 0 {
                    try read(index, &parser)
                    done |= 1 << index
                    missing -= 1
                } else {
                    try parser.skipValue()
                }
                if try parser.nextInContainer(closing: UInt8(ascii: "}")) { return }
            }
        } catch {
            return
        }
    }
}

extension RequestScan {
    /// A top-level member of a JSON object, located in the bytes it was read from.
    public struct MemberLocation: Sendable, Equatable {
        /// The decoded key.
        public var key: String
        /// From the key's opening quote to the end of the value.
        public var range: Range<Int>
        /// The value's bytes (a string's quotes included).
        public var valueRange: Range<Int>
    }

    /// Locates every top-level member of a JSON object, in order, without building the values, so
    /// a passthrough can edit a body in place. `bodyStart` is the offset just after the opening
    /// `{`. Throws for anything that is not one valid JSON object.
    public static func members(_ bytes: UnsafeRawBufferPointer) throws -> (members: [MemberLocation], bodyStart: Int) {
        var parser = JSONParser(bytes)
        guard try parser.peek() == UInt8(ascii: "{") else {
            throw parser.fail("request body must be a JSON object")
        }
        try parser.enter()
        parser.position += 1
        let bodyStart = parser.position
        var members: [MemberLocation] = []
        if try parser.peek() == UInt8(ascii: "}") {
            parser.position += 1
        } else {
            while true {
                guard try parser.peek() == UInt8(ascii: "\"") else { throw parser.fail("expected a string key") }
                let keyStart = parser.position
                let (keyRange, keyEscaped) = try parser.scanString()
                let key = JSONParser.decodeString(bytes, range: keyRange, escaped: keyEscaped)
                try parser.expect(UInt8(ascii: ":"))
                _ = try parser.peek()
                let valueStart = parser.position
                try parser.skipValue()
                members.append(MemberLocation(key: key, range: keyStart..<parser.position, valueRange: valueStart..<parser.position))
                if try parser.nextInContainer(closing: UInt8(ascii: "}")) { break }
            }
        }
        try parser.expectEnd()
        return (members, bodyStart)
    }

    public static func members(_ bytes: [UInt8]) throws -> (members: [MemberLocation], bodyStart: Int) {
        try bytes.withUnsafeBytes { (raw) throws in try members(raw) }
    }
}
