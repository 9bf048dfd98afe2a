import TollgatePluginKit

/// A request's usage split into the disjoint parts that are priced apart.
///
/// The usage convention: `prompt` includes cache reads and writes, `completion` includes
/// reasoning; a count not reported is zero here.
struct BilledUsage: Sendable, Equatable {
    var prompt: Int64
    var text: Int64
    var audioInput: Int64
    var cacheRead: Int64
    /// 5-minute cache writes (all writes less the 1-hour ones).
    var cacheCreation5m: Int64
    var cacheCreation1h: Int64
    var output: Int64
    var reasoning: Int64
    var audioOutput: Int64

    init(_ usage: TokenUsage) throws(PluginError) {
        // One check a count, no list of them: this runs for every request.
        try Self.nonNegative(usage.prompt, "prompt")
        try Self.nonNegative(usage.completion, "completion")
        try Self.nonNegative(usage.cacheRead, "cache read")
        try Self.nonNegative(usage.cacheCreation, "cache creation")
        try Self.nonNegative(usage.cacheCreation1h, "1-hour cache creation")
        try Self.nonNegative(usage.audioPrompt, "audio prompt")
        try Self.nonNegative(usage.audioCompletion, "audio completion")
        try Self.nonNegative(usage.reasoning, "reasoning")
        prompt = usage.prompt ?? 0
        let completion = usage.completion ?? 0
        cacheRead = usage.cacheRead ?? 0
        let cacheCreation = usage.cacheCreation ?? 0
        cacheCreation1h = usage.cacheCreation1h ?? 0
        guard cacheCreation1h <= cacheCreation else {
            throw PluginError(.invalidInput, "usage: 1-hour cache writes (\(cacheCreation1h)) exceed all cache writes (\(cacheCreation))")
        }
        cacheCreation5m = cacheCreation - cacheCreation1h
        guard Int128(cacheRead) + Int128(cacheCreation) <= Int128(prompt) else {
            throw PluginError(.invalidInput, "usage: cache reads (\(cacheRead)) and writes (\(cacheCreation)) exceed prompt tokens (\(prompt))")
        }
        let uncached = prompt - cacheRead - cacheCreation
        // Audio may be counted in the cached part too (OpenAI's cached audio): only what the cache
        // did not cover is billed at the audio price.
        audioInput = min(usage.audioPrompt ?? 0, uncached)
        text = uncached - audioInput
        reasoning = usage.reasoning ?? 0
        audioOutput = usage.audioCompletion ?? 0
        guard Int128(reasoning) + Int128(audioOutput) <= Int128(completion) else {
            throw PluginError(.invalidInput, "usage: reasoning (\(reasoning)) and audio (\(audioOutput)) tokens exceed completion tokens (\(completion))")
        }
        output = completion - reasoning - audioOutput
    }

    private static func nonNegative(_ count: Int64?, _ name: String) throws(PluginError) {
        guard let count, count < 0 else { return }
        throw PluginError(.invalidInput, "usage: negative \(name) tokens (\(count))")
    }

    /// The prompt's parts in the order they sit in the context (cached prefix first), for
    /// segmented tiers. Kinds are listed once; `tokens` reads each (no list of counts a request).
    static let promptParts: [BillLine.Kind] = [.cacheRead, .cacheCreation, .cacheCreation1h, .audioInput, .input]
    static let completionParts: [BillLine.Kind] = [.output, .reasoning, .audioOutput]
    static let allParts = promptParts + completionParts

    func tokens(_ kind: BillLine.Kind) -> Int64 {
        switch kind {
        case .cacheRead: cacheRead
        case .cacheCreation: cacheCreation5m
        case .cacheCreation1h: cacheCreation1h
        case .audioInput: audioInput
        case .input: text
        case .output: output
        case .reasoning: reasoning
        case .audioOutput: audioOutput
        }
    }
}
