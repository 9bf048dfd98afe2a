/// Token counts as an OpenAI `usage` object: `prompt_tokens`, `completion_tokens`,
/// `total_tokens`, then the details each conversion has always written (its output is pinned by
/// tests and clients), chosen by an `OpenAIUsageStyle`.
public struct OpenAIUsageStyle: Sendable {
    public enum Details: Sendable {
        /// Written when one of its counts was reported, with the reported counts.
        case whenReported
        /// Always written, a count never reported as 0 (its audio count only when reported).
        case always
        case never
    }

    public enum CacheWrites: Sendable {
        case omitted
        /// `prompt_tokens_details.cache_creation_tokens`, when above 0 (not an OpenAI field, but
        /// clients pricing a Claude answer need it and OpenAI SDKs keep unknown fields).
        case inPromptDetails
        /// A top-level `cache_creation_input_tokens`, when reported (the name LiteLLM uses).
        case topLevel
    }

    public var promptDetails: Details
    public var completionDetails: Details
    public var cacheWrites: CacheWrites

    public init(promptDetails: Details, completionDetails: Details, cacheWrites: CacheWrites) {
        self.promptDetails = promptDetails
        self.completionDetails = completionDetails
        self.cacheWrites = cacheWrites
    }

    /// Details only for the counts reported, no cache writes.
    public static let reported = OpenAIUsageStyle(promptDetails: .whenReported, completionDetails: .whenReported, cacheWrites: .omitted)
}

extension TokenUsage {
    /// The counts as an OpenAI `usage` object; `prompt_tokens` and `completion_tokens` never
    /// reported are written as 0.
    public func writeOpenAI(_ style: OpenAIUsageStyle = .reported, into out: inout JSONWriter) {
        let prompt = self.prompt ?? 0, completion = self.completion ?? 0
        out.beginObject()
        out.key("prompt_tokens"); out.int(prompt)
        out.key("completion_tokens"); out.int(completion)
        out.key("total_tokens"); out.int(prompt.addingSaturated(completion))
        let cacheWrites = style.cacheWrites == .inPromptDetails ? cacheCreation.flatMap { $0 > 0 ? $0 : nil } : nil
        Self.writeDetails("prompt_tokens_details", style.promptDetails, ("cached_tokens", cacheRead), ("audio_tokens", audioPrompt),
                          extra: cacheWrites.map { ("cache_creation_tokens", $0) }, into: &out)
        Self.writeDetails("completion_tokens_details", style.completionDetails, ("reasoning_tokens", reasoning),
                          ("audio_tokens", audioCompletion), into: &out)
        if style.cacheWrites == .topLevel, let cacheCreation { out.key("cache_creation_input_tokens"); out.int(cacheCreation) }
        out.endObject()
    }

    /// The same object as a tree, for a conversion that builds one (a stream's last chunk).
    public func openAIJSON(_ style: OpenAIUsageStyle = .reported) -> JSONValue {
        var out = JSONWriter(capacity: 160)
        writeOpenAI(style, into: &out)
        // The writer's own output (names and integers) is always JSON.
        return try! JSONParser.parse(out.bytes)
    }

    /// A details object: the main count (0 when `.always`), then the audio count when reported,
    /// then `extra` (cache writes). Left out when it would be empty.
    private static func writeDetails(_ name: StaticString, _ mode: OpenAIUsageStyle.Details, _ main: (StaticString, Int64?),
                                     _ audio: (StaticString, Int64?), extra: (StaticString, Int64)? = nil, into out: inout JSONWriter) {
        let mainCount: Int64? = switch mode {
        case .never: nil
        case .always: main.1 ?? 0
        case .whenReported: main.1
        }
        if mode == .never || (mainCount == nil && audio.1 == nil) { return }
        out.key(name)
        out.beginObject()
        if let mainCount { out.key(main.0); out.int(mainCount) }
        if let count = audio.1 { out.key(audio.0); out.int(count) }
        if let extra { out.key(extra.0); out.int(extra.1) }
        out.endObject()
    }
}

extension TokenUsage {
    /// The `usage` object of an OpenAI embeddings answer: `prompt_tokens` and `total_tokens`.
    public static func openAIEmbeddingsJSON(promptTokens: Int64) -> JSONValue {
        .object(["prompt_tokens": .int(promptTokens), "total_tokens": .int(promptTokens)])
    }
}
