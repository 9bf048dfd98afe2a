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
    /// Each count with its ABI presence bit and field.
    nonisolated(unsafe) private static let fields: [(WritableKeyPath<TokenUsage, Int64?>, UInt32, WritableKeyPath<tollgate_type_usage, Int64>)] = [
        (\.prompt, UInt32(TOLLGATE_USAGE_PROMPT), \.prompt_tokens),
        (\.completion, UInt32(TOLLGATE_USAGE_COMPLETION), \.completion_tokens),
        (\.cacheRead, UInt32(TOLLGATE_USAGE_CACHE_READ), \.cache_read_tokens),
        (\.cacheCreation, UInt32(TOLLGATE_USAGE_CACHE_CREATION), \.cache_creation_tokens),
        (\.cacheCreation1h, UInt32(TOLLGATE_USAGE_CACHE_CREATION_1H), \.cache_creation_1h_tokens),
        (\.audioPrompt, UInt32(TOLLGATE_USAGE_AUDIO_PROMPT), \.audio_prompt_tokens),
        (\.audioCompletion, UInt32(TOLLGATE_USAGE_AUDIO_COMPLETION), \.audio_completion_tokens),
        (\.reasoning, UInt32(TOLLGATE_USAGE_REASONING), \.reasoning_tokens),
    ]

    /// Reads the ABI's usage struct, honouring its presence bits.
    public init(_ c: tollgate_type_usage) {
        for (field, bit, cField) in Self.fields where c.fields & bit != 0 { self[keyPath: field] = c[keyPath: cField] }
        estimated = c.flags & UInt32(TOLLGATE_USAGE_FLAG_ESTIMATED) != 0
    }

    /// Writes the counts this record has into the ABI struct; never clears a bit.
    public func write(into c: inout tollgate_type_usage) {
        for (field, bit, cField) in Self.fields {
            if let value = self[keyPath: field] { c[keyPath: cField] = value; c.fields |= bit }
        }
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
