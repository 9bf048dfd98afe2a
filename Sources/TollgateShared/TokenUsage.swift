import TollgatePluginABI

/// Token counts of one request in one convention, whatever the provider's:
/// `prompt` counts ALL input tokens including cache reads and cache writes (OpenAI's
/// convention); `completion` counts all output tokens including reasoning. The other counts are
/// parts of those totals, kept for pricing. A count that was never reported is nil, not zero.
public struct TokenUsage: Sendable, Equatable {
    public var prompt: Int64?
    public var completion: Int64?
    public var cacheRead: Int64?
    public var cacheCreation: Int64?
    public var cacheCreation1h: Int64?
    public var audioPrompt: Int64?
    public var audioCompletion: Int64?
    public var reasoning: Int64?
    /// True when the counts were estimated by the gateway rather than reported upstream.
    public var estimated = false

    public init(prompt: Int64? = nil, completion: Int64? = nil, cacheRead: Int64? = nil,
                cacheCreation: Int64? = nil, reasoning: Int64? = nil, estimated: Bool = false) {
        self.prompt = prompt
        self.completion = completion
        self.cacheRead = cacheRead
        self.cacheCreation = cacheCreation
        self.reasoning = reasoning
        self.estimated = estimated
    }

    public var isEmpty: Bool { prompt == nil && completion == nil }

    /// Takes every count `later` reports; a count it lacks keeps its earlier value.
    public mutating func merge(_ later: TokenUsage) {
        prompt = later.prompt ?? prompt
        completion = later.completion ?? completion
        cacheRead = later.cacheRead ?? cacheRead
        cacheCreation = later.cacheCreation ?? cacheCreation
        cacheCreation1h = later.cacheCreation1h ?? cacheCreation1h
        audioPrompt = later.audioPrompt ?? audioPrompt
        audioCompletion = later.audioCompletion ?? audioCompletion
        reasoning = later.reasoning ?? reasoning
        estimated = estimated || later.estimated
    }
}

extension TokenUsage {
    // Field by field, not through a table of key paths: key-path access goes through the
    // runtime, and every bill crosses this struct twice (1.5 % of a request's CPU).

    /// Reads the ABI's usage struct, honouring its presence bits.
    public init(_ c: tollgate_type_usage) {
        func count(_ bit: UInt32, _ value: Int64) -> Int64? { c.fields & bit != 0 ? value : nil }
        prompt = count(TOLLGATE_USAGE_PROMPT, c.prompt_tokens)
        completion = count(TOLLGATE_USAGE_COMPLETION, c.completion_tokens)
        cacheRead = count(TOLLGATE_USAGE_CACHE_READ, c.cache_read_tokens)
        cacheCreation = count(TOLLGATE_USAGE_CACHE_CREATION, c.cache_creation_tokens)
        cacheCreation1h = count(TOLLGATE_USAGE_CACHE_CREATION_1H, c.cache_creation_1h_tokens)
        audioPrompt = count(TOLLGATE_USAGE_AUDIO_PROMPT, c.audio_prompt_tokens)
        audioCompletion = count(TOLLGATE_USAGE_AUDIO_COMPLETION, c.audio_completion_tokens)
        reasoning = count(TOLLGATE_USAGE_REASONING, c.reasoning_tokens)
        estimated = c.flags & UInt32(TOLLGATE_USAGE_FLAG_ESTIMATED) != 0
    }

    /// Writes the counts this record has into the ABI struct; never clears a bit.
    public func write(into c: inout tollgate_type_usage) {
        var present: UInt32 = 0
        func put(_ value: Int64?, _ bit: UInt32, _ field: inout Int64) {
            if let value { field = value; present |= bit }
        }
        put(prompt, TOLLGATE_USAGE_PROMPT, &c.prompt_tokens)
        put(completion, TOLLGATE_USAGE_COMPLETION, &c.completion_tokens)
        put(cacheRead, TOLLGATE_USAGE_CACHE_READ, &c.cache_read_tokens)
        put(cacheCreation, TOLLGATE_USAGE_CACHE_CREATION, &c.cache_creation_tokens)
        put(cacheCreation1h, TOLLGATE_USAGE_CACHE_CREATION_1H, &c.cache_creation_1h_tokens)
        put(audioPrompt, TOLLGATE_USAGE_AUDIO_PROMPT, &c.audio_prompt_tokens)
        put(audioCompletion, TOLLGATE_USAGE_AUDIO_COMPLETION, &c.audio_completion_tokens)
        put(reasoning, TOLLGATE_USAGE_REASONING, &c.reasoning_tokens)
        c.fields |= present
        if estimated { c.flags |= UInt32(TOLLGATE_USAGE_FLAG_ESTIMATED) }
    }

    /// Reads an OpenAI `usage` object (chat or embeddings). Nil when it holds no counts.
    public init?(openAI usage: JSONValue) {
        guard case .object = usage else { return nil }
        prompt = usage["prompt_tokens"]?.int64Value ?? usage["input_tokens"]?.int64Value
        completion = usage["completion_tokens"]?.int64Value ?? usage["output_tokens"]?.int64Value
        let promptDetails = usage["prompt_tokens_details"] ?? usage["input_tokens_details"]
        let completionDetails = usage["completion_tokens_details"] ?? usage["output_tokens_details"]
        cacheRead = promptDetails?["cached_tokens"]?.int64Value
        // Not OpenAI's own fields: how LiteLLM and the gateway's plugins report cache writes.
        cacheCreation = promptDetails?["cache_creation_tokens"]?.int64Value ?? usage["cache_creation_input_tokens"]?.int64Value
        audioPrompt = promptDetails?["audio_tokens"]?.int64Value
        reasoning = completionDetails?["reasoning_tokens"]?.int64Value
        audioCompletion = completionDetails?["audio_tokens"]?.int64Value
        if prompt == nil && completion == nil { return nil }
    }
}

extension FixedWidthInteger {
    /// `self + other`, held at `max` (or `min`) instead of trapping: token counts are an
    /// upstream's words, and a sum of two near the maximum stopped the process.
    public func addingSaturated(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// Adds `other` in place, held the same way (a counter that must never trap).
    public mutating func addSaturating(_ other: Self) { self = addingSaturated(other) }

    /// `self - other`, held the same way.
    public func subtractingSaturated(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }
}
