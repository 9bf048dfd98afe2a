/// The token kinds a price entry can price, named by LiteLLM's base field names.
public enum PriceKind: String, CaseIterable, Sendable {
    case input = "input_cost_per_token"
    case output = "output_cost_per_token"
    case cacheRead = "cache_read_input_token_cost"
    case cacheCreation = "cache_creation_input_token_cost"
    case cacheCreation1h = "cache_creation_input_token_cost_above_1hr"
    case audioInput = "input_cost_per_audio_token"
    case audioOutput = "output_cost_per_audio_token"
    case reasoning = "output_cost_per_reasoning_token"
}

/// How a request is served, which picks `*_priority` or `*_batches` prices.
public enum ServiceMode: String, Sendable, CaseIterable {
    case standard, priority, batch

    /// The mode's place in `allCases`.
    var index: Int {
        switch self {
        case .standard: 0
        case .priority: 1
        case .batch: 2
        }
    }

    /// LiteLLM's field suffix for the mode.
    var suffix: String {
        switch self {
        case .standard: ""
        case .priority: "_priority"
        case .batch: "_batches"
        }
    }

    /// The default price of the mode as a percentage of the standard price (SPEC: priority 170%,
    /// batch 50%), used when the entry gives no `*_priority` / `*_batches` price.
    var defaultPercent: Int64 {
        switch self {
        case .standard: 100
        case .priority: 170
        case .batch: 50
        }
    }
}

/// One price field's name taken apart: `<kind>[_above_<N>[k]_tokens][_priority|_batches]`.
struct PriceKey: Hashable, Sendable {
    var kind: PriceKind
    /// The prompt size above which the price applies (`_above_200k_tokens` → 200_000).
    var threshold: Int64?
    var mode: ServiceMode

    init(kind: PriceKind, threshold: Int64? = nil, mode: ServiceMode = .standard) {
        self.kind = kind
        self.threshold = threshold
        self.mode = mode
    }

    /// Nil for fields this plugin does not price (per image, per second, `_flex`, ...).
    init?(field: String) {
        var name = Substring(field)
        mode = .standard
        for candidate in [ServiceMode.priority, .batch] where name.hasSuffix(candidate.suffix) {
            mode = candidate
            name = name.dropLast(candidate.suffix.count)
        }
        threshold = nil
        if name.hasSuffix("_tokens"), let above = name.ranges(of: "_above_").last {
            var count = name[above.upperBound...].dropLast("_tokens".count)
            var multiplier: Int64 = 1
            if count.hasSuffix("k") { multiplier = 1000; count = count.dropLast() }
            guard !count.isEmpty, count.count < 12, count.allSatisfy(\.isASCII), let n = Int64(count) else { return nil }
            threshold = n * multiplier
            name = name[..<above.lowerBound]
        }
        guard let kind = PriceKind(rawValue: String(name)) else { return nil }
        self.kind = kind
    }
}
