extension TokenUsage {
    /// `init(openAI:)` read straight off the bytes of the value at `parser`, without building a
    /// JSON tree (that tree was seven allocations of every passthrough answer). Same counts by the
    /// same rules: the first member of a repeated name counts; a count that is not an integer is
    /// no count; a `prompt_tokens_details` that is present, object or not, hides
    /// `input_tokens_details` (likewise for completion); keys are compared decoded. Nil when the
    /// value is not an object or holds neither count; throws, like the tree's parse, when the
    /// value is not valid JSON.
    static func readOpenAI(_ parser: inout JSONParser) throws -> TokenUsage? {
        guard try parser.peek() == UInt8(ascii: "{") else {
            try parser.skipValue()
            return nil
        }
        var found = FoundCounts<UsageNames>()
        var details = (prompt: FoundDetails(), input: FoundDetails(), completion: FoundDetails(), output: FoundDetails())
        try readObject(&parser) { (name: UsageNames, parser) in
            switch name {
            case .promptTokensDetails: try details.prompt.read(&parser)
            case .inputTokensDetails: try details.input.read(&parser)
            case .completionTokensDetails: try details.completion.read(&parser)
            case .outputTokensDetails: try details.output.read(&parser)
            default: try found.read(name, &parser)
            }
        }
        let prompt = details.prompt.seen ? details.prompt.counts : details.input.counts
        let completion = details.completion.seen ? details.completion.counts : details.output.counts
        var usage = TokenUsage(prompt: found[.promptTokens] ?? found[.inputTokens],
                               completion: found[.completionTokens] ?? found[.outputTokens],
                               cacheRead: prompt[.cachedTokens],
                               cacheCreation: prompt[.cacheCreationTokens] ?? found[.cacheCreationInputTokens],
                               reasoning: completion[.reasoningTokens])
        usage.audioPrompt = prompt[.audioTokens]
        usage.audioCompletion = completion[.audioTokens]
        return usage.isEmpty ? nil : usage
    }

    /// Steps through the object at `parser`, handing `read` the parser at the value of each
    /// member `Name` knows (it must consume it) and skipping the others.
    private static func readObject<Name: UsageName>(_ parser: inout JSONParser,
                                                    _ read: (Name, inout JSONParser) throws -> Void) throws {
        try parser.readObject { key, parser in
            if let name = Name(key) { try read(name, &parser) } else { try parser.skipValue() }
        }
    }

    /// A `*_tokens_details` member: the counts of its first occurrence when that was an object.
    private struct FoundDetails {
        var seen = false
        var counts = FoundCounts<DetailNames>()

        mutating func read(_ parser: inout JSONParser) throws {
            guard !seen else { return try parser.skipValue() }
            seen = true
            guard try parser.peek() == UInt8(ascii: "{") else { return try parser.skipValue() }
            var counts = FoundCounts<DetailNames>()
            try readObject(&parser) { (name: DetailNames, parser) in try counts.read(name, &parser) }
            self.counts = counts
        }
    }
}

/// The first value of each name, as a count when it was an integer.
private struct FoundCounts<Name: UsageName> {
    private var seen: UInt16 = 0
    private var counts = InlineArray<9, Int64?>(repeating: nil)  // in place: no allocation

    subscript(name: Name) -> Int64? { counts[name.rawValue] }

    mutating func read(_ name: Name, _ parser: inout JSONParser) throws {
        let bit: UInt16 = 1 << name.rawValue
        guard seen & bit == 0 else { return try parser.skipValue() }
        seen |= bit
        counts[name.rawValue] = try parser.readInt64()
    }
}

/// A name the reader looks for: its position in `spelled` is its case's raw value.
private protocol UsageName: RawRepresentable<Int> {
    static var spelled: [[UInt8]] { get }
}

extension UsageName {
    init?(_ key: UnsafeRawBufferPointer) {
        guard let index = Self.spelled.firstIndex(where: { key.equals($0) }) else { return nil }
        self.init(rawValue: index)
    }
}

private enum UsageNames: Int, UsageName {
    case promptTokens, inputTokens, completionTokens, outputTokens, cacheCreationInputTokens,
         promptTokensDetails, inputTokensDetails, completionTokensDetails, outputTokensDetails

    static let spelled: [[UInt8]] = ["prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "cache_creation_input_tokens",
                                     "prompt_tokens_details", "input_tokens_details", "completion_tokens_details",
                                     "output_tokens_details"].map { Array($0.utf8) }
}

private enum DetailNames: Int, UsageName {
    case cachedTokens, cacheCreationTokens, audioTokens, reasoningTokens

    static let spelled: [[UInt8]] = ["cached_tokens", "cache_creation_tokens", "audio_tokens", "reasoning_tokens"].map { Array($0.utf8) }
}
