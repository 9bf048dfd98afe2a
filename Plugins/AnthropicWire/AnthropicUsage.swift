import TollgatePluginKit

/// Anthropic's token counts as reported, gathered from one answer or across a stream's events.
///
/// Anthropic's `input_tokens` EXCLUDES cache reads and cache writes; the gateway's convention
/// (`TokenUsage`, OpenAI's) counts them in the prompt, so `prompt = input + cache_read +
/// cache_creation`. In a stream, `message_start` carries the input and cache counts and
/// `message_delta` the cumulative output; a later event that lacks a count must not erase an
/// earlier one, and since every count is cumulative a smaller later value (some compatible
/// servers write 0 for "not counted here") never lowers it either.
public struct AnthropicUsage: Sendable, Equatable {
    public var input: Int64?
    public var output: Int64?
    public var cacheRead: Int64?
    public var cacheCreation: Int64?
    /// The part of `cacheCreation` written for one hour (`cache_creation.ephemeral_1h_input_tokens`).
    public var cacheCreation1h: Int64?

    public init() {}

    /// Takes the counts of an Anthropic `usage` object.
    public mutating func read(_ usage: JSONValue?) {
        guard let usage, case .object = usage else { return }
        Self.take(&input, usage["input_tokens"]?.int64Value)
        Self.take(&output, usage["output_tokens"]?.int64Value)
        Self.take(&cacheRead, usage["cache_read_input_tokens"]?.int64Value)
        Self.take(&cacheCreation, usage["cache_creation_input_tokens"]?.int64Value)
        Self.take(&cacheCreation1h, usage["cache_creation"]?["ephemeral_1h_input_tokens"]?.int64Value)
    }

    /// Takes the counts of the `usage` value at the parser, read off its bytes as `read(_:)` reads
    /// a tree of them (the first member of a name counts, names compared decoded; a value that is
    /// not an object is stepped over): no tree of it is built.
    public mutating func read(_ parser: inout JSONParser) throws {
        guard try parser.peek() == UInt8(ascii: "{") else { return try parser.skipValue() }
        var seen: UInt8 = 0
        var input: Int64?, output: Int64?, cacheRead: Int64?, cacheCreation: Int64?, hour: Int64?
        try parser.readObject { name, parser in
            let bit: UInt8 = name.equals("input_tokens") ? 1 : name.equals("output_tokens") ? 2 : name.equals("cache_read_input_tokens") ? 4
                : name.equals("cache_creation_input_tokens") ? 8 : name.equals("cache_creation") ? 16 : 0
            guard bit != 0, seen & bit == 0 else { return try parser.skipValue() }
            seen |= bit
            switch bit {
            case 1: input = try parser.readInt64()
            case 2: output = try parser.readInt64()
            case 4: cacheRead = try parser.readInt64()
            case 8: cacheCreation = try parser.readInt64()
            default:
                guard try parser.peek() == UInt8(ascii: "{") else { return try parser.skipValue() }
                var seenHour = false
                try parser.readObject { name, parser in
                    guard !seenHour, name.equals("ephemeral_1h_input_tokens") else { return try parser.skipValue() }
                    seenHour = true
                    hour = try parser.readInt64()
                }
            }
        }
        Self.take(&self.input, input)
        Self.take(&self.output, output)
        Self.take(&self.cacheRead, cacheRead)
        Self.take(&self.cacheCreation, cacheCreation)
        Self.take(&cacheCreation1h, hour)
    }

    private static func take(_ field: inout Int64?, _ count: Int64?) {
        guard let count, count >= 0 else { return }
        field = max(field ?? count, count)
    }

    public var isEmpty: Bool { input == nil && output == nil && cacheRead == nil && cacheCreation == nil }

    /// The counts in the gateway's convention; a count never reported stays nil.
    public var tokenUsage: TokenUsage {
        var usage = TokenUsage()
        if input != nil || cacheRead != nil || cacheCreation != nil {
            usage.prompt = (input ?? 0).addingSaturated(cacheRead ?? 0).addingSaturated(cacheCreation ?? 0)
        }
        usage.completion = output
        usage.cacheRead = cacheRead
        usage.cacheCreation = cacheCreation
        usage.cacheCreation1h = cacheCreation1h
        return usage
    }

    /// An OpenAI `usage` object: prompt and completion totals, cache reads as
    /// `prompt_tokens_details.cached_tokens` (always written) and, where Anthropic reported any,
    /// cache writes as `prompt_tokens_details.cache_creation_tokens`.
    public var openAIJSON: JSONValue { tokenUsage.openAIJSON(Self.openAIStyle) }

    static let openAIStyle = OpenAIUsageStyle(promptDetails: .always, completionDetails: .never, cacheWrites: .inPromptDetails)
}
