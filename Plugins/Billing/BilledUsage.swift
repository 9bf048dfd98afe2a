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
        let counts: [(String, Int64?)] = [
            ("prompt", usage.prompt), ("completion", usage.completion), ("cache read", usage.cacheRead),
            ("cache creation", usage.cacheCreation), ("1-hour cache creation", usage.cacheCreation1h),
            ("audio prompt", usage.audioPrompt), ("audio completion", usage.audioCompletion), ("reasoning", usage.reasoning),
        ]
        for (name, count) in counts where (count ?? 0) < 0 {
            throw PluginError(.invalidInput, "usage: negative \(name) tokens (\(count ?? 0))")
        }
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

    /// The prompt's parts in the order they sit in the context (cached prefix first), for
    /// segmented tiers.
    var promptParts: [(BillLine.Kind, Int64)] {
        [(.cacheRead, cacheRead), (.cacheCreation, cacheCreation5m), (.cacheCreation1h, cacheCreation1h),
         (.audioInput, audioInput), (.input, text)]
    }

    var completionParts: [(BillLine.Kind, Int64)] {
        [(.output, output), (.reasoning, reasoning), (.audioOutput, audioOutput)]
    }
}
