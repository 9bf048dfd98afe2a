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
    public func openAIJSON(_ style: OpenAIUsageStyle = .reported) -> JSONValue {
        let prompt = self.prompt ?? 0, completion = self.completion ?? 0
        var members: [JSONValue.Member] = [
            .init("prompt_tokens", .int(prompt)), .init("completion_tokens", .int(completion)),
            .init("total_tokens", .int(prompt + completion)),
        ]
        var promptDetails = Self.details(style.promptDetails, ("cached_tokens", cacheRead), ("audio_tokens", audioPrompt))
        if style.cacheWrites == .inPromptDetails, let cacheCreation, cacheCreation > 0 {
            promptDetails?.append(.init("cache_creation_tokens", .int(cacheCreation)))
        }
        if let promptDetails { members.append(.init("prompt_tokens_details", .object(promptDetails))) }
        if let completionDetails = Self.details(style.completionDetails, ("reasoning_tokens", reasoning), ("audio_tokens", audioCompletion)) {
            members.append(.init("completion_tokens_details", .object(completionDetails)))
        }
        if style.cacheWrites == .topLevel, let cacheCreation { members.append(.init("cache_creation_input_tokens", .int(cacheCreation))) }
        return .object(members)
    }

    /// A details object: the main count (0 when `.always`), then the audio count when reported.
    private static func details(_ mode: OpenAIUsageStyle.Details, _ main: (String, Int64?), _ audio: (String, Int64?)) -> [JSONValue.Member]? {
        var members: [JSONValue.Member] = []
        switch mode {
        case .never: return nil
        case .always: members.append(.init(main.0, .int(main.1 ?? 0)))
        case .whenReported: if let count = main.1 { members.append(.init(main.0, .int(count))) }
        }
        if let count = audio.1 { members.append(.init(audio.0, .int(count))) }
        return members.isEmpty ? nil : members
    }
}

extension TokenUsage {
    /// The `usage` object of an OpenAI embeddings answer: `prompt_tokens` and `total_tokens`.
    public static func openAIEmbeddingsJSON(promptTokens: Int64) -> JSONValue {
        .object(["prompt_tokens": .int(promptTokens), "total_tokens": .int(promptTokens)])
    }
}
