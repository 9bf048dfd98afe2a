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
        func take(_ field: inout Int64?, _ value: JSONValue?) {
            guard let count = value?.int64Value, count >= 0 else { return }
            field = max(field ?? count, count)
        }
        take(&input, usage["input_tokens"])
        take(&output, usage["output_tokens"])
        take(&cacheRead, usage["cache_read_input_tokens"])
        take(&cacheCreation, usage["cache_creation_input_tokens"])
        take(&cacheCreation1h, usage["cache_creation"]?["ephemeral_1h_input_tokens"])
    }

    public var isEmpty: Bool { input == nil && output == nil && cacheRead == nil && cacheCreation == nil }

    /// The counts in the gateway's convention; a count never reported stays nil.
    public var tokenUsage: TokenUsage {
        var usage = TokenUsage()
        if input != nil || cacheRead != nil || cacheCreation != nil {
            usage.prompt = (input ?? 0) + (cacheRead ?? 0) + (cacheCreation ?? 0)
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
