import TollgatePluginKit

/// What a complete Anthropic answer holds for its OpenAI form, read off its bytes in one
/// validating pass. Only the small `id` and the rare blocks that are written whole
/// (tool calls, thinking) become `JSONValue`s; the text is gathered as bytes (a tree of the whole
/// answer was most of a conversion's reading). It reads what the answer's tree reads: the first
/// member of a repeated name, names compared decoded, blocks in order.
struct AnswerContent {
    var id: JSONValue?
    var stopReason: String?
    var usage = AnthropicUsage()
    /// False when the answer has no `content` array (its first `content` is something else).
    var hasContent = false
    /// The text blocks' text and the thinking blocks' thinking, each joined across blocks.
    var text: [UInt8] = []
    var reasoning: [UInt8] = []
    var toolCalls: [JSONValue] = []
    /// `thinking` and `redacted_thinking` blocks, to hand back to the client whole.
    var thinkingBlocks: [JSONValue] = []

    /// Reads `bytes`; throws `JSONError` when they are not one valid JSON document.
    static func read(_ bytes: UnsafeRawBufferPointer) throws -> AnswerContent {
        var parser = JSONParser(bytes)
        var answer = AnswerContent()
        if try parser.peek() == UInt8(ascii: "{") {
            var seen: UInt8 = 0
            try parser.readObject { name, parser in
                let bit = Member.bit(name)
                guard bit != 0, seen & bit == 0 else { return try parser.skipValue() }
                seen |= bit
                try answer.read(bit, &parser)
            }
        } else {
            try parser.skipValue()
        }
        try parser.expectEnd()
        return answer
    }

    private mutating func read(_ member: UInt8, _ parser: inout JSONParser) throws {
        switch member {
        case Member.id: id = try parser.parseValue()
        case Member.stopReason: stopReason = try parser.parseValue().stringValue
        case Member.usage: try usage.read(&parser)
        default:
            guard try parser.peek() == UInt8(ascii: "[") else { return try parser.skipValue() }
            hasContent = true
            try parser.readArray { parser in try readBlock(&parser) }
        }
    }

    /// One `content` block: its text or thinking gathered, a tool call or thinking block kept
    /// whole (parsed again from its bytes), any other kind skipped.
    private mutating func readBlock(_ parser: inout JSONParser) throws {
        guard try parser.peek() == UInt8(ascii: "{") else { return try parser.skipValue() }
        let start = parser.position
        var kind = BlockKind.other
        var text: (range: Range<Int>, escaped: Bool)?, thinking: (range: Range<Int>, escaped: Bool)?
        var seen: UInt8 = 0
        try parser.readObject { name, parser in
            let bit = Member.blockBit(name)
            guard bit != 0, seen & bit == 0 else { return try parser.skipValue() }
            seen |= bit
            guard try parser.peek() == UInt8(ascii: "\"") else { return try parser.skipValue() }
            let string = try parser.scanString()
            switch bit {
            case Member.type: kind = BlockKind(parser.bytes, string)
            case Member.text: text = string
            default: thinking = string
            }
        }
        switch kind {
        case .text: if let text { parser.appendString(text.range, escaped: text.escaped, to: &self.text) }
        case .thinking:
            if let thinking { parser.appendString(thinking.range, escaped: thinking.escaped, to: &reasoning) }
            thinkingBlocks.append(try JSONParser.parse(UnsafeRawBufferPointer(rebasing: parser.bytes[start..<parser.position])))
        case .redactedThinking:
            thinkingBlocks.append(try JSONParser.parse(UnsafeRawBufferPointer(rebasing: parser.bytes[start..<parser.position])))
        case .toolUse:
            toolCalls.append(try JSONParser.parse(UnsafeRawBufferPointer(rebasing: parser.bytes[start..<parser.position])))
        case .other: break  // server tool blocks and future kinds have no OpenAI counterpart
        }
    }

    private enum BlockKind {
        case text, toolUse, thinking, redactedThinking, other

        /// The kind a block's `type` string names, compared decoded.
        init(_ bytes: UnsafeRawBufferPointer, _ string: (range: Range<Int>, escaped: Bool)) {
            guard string.escaped else { self.init(name: UnsafeRawBufferPointer(rebasing: bytes[string.range])); return }
            let decoded = Array(JSONParser.decodeString(bytes, range: string.range, escaped: true).utf8)
            self = decoded.withUnsafeBytes { BlockKind(name: $0) }
        }

        init(name: UnsafeRawBufferPointer) {
            self = name.equals("text") ? .text : name.equals("tool_use") ? .toolUse : name.equals("thinking") ? .thinking
                : name.equals("redacted_thinking") ? .redactedThinking : .other
        }
    }

    /// The members read, as bits: top-level `id`, `content`, `usage`, `stop_reason`; a block's
    /// `type`, `text`, `thinking`. 0 for any other name.
    private enum Member {
        static let id: UInt8 = 1, content: UInt8 = 2, usage: UInt8 = 4, stopReason: UInt8 = 8
        static let type: UInt8 = 1, text: UInt8 = 2, thinking: UInt8 = 4

        static func bit(_ name: UnsafeRawBufferPointer) -> UInt8 {
            name.equals("id") ? id : name.equals("content") ? content : name.equals("usage") ? usage
                : name.equals("stop_reason") ? stopReason : 0
        }

        static func blockBit(_ name: UnsafeRawBufferPointer) -> UInt8 {
            name.equals("type") ? type : name.equals("text") ? text : name.equals("thinking") ? thinking : 0
        }
    }
}
