/// Resolves a price for a kind, mode and crossed thresholds from one level's fields, the way
/// LiteLLM reads its keys, plus Tollgate's defaults for what the entry leaves out.
struct RateResolver: Sendable {
    let fields: [PriceKey: Int64]

    /// The rates for `mode` with the prompt above every threshold in `crossed` (highest first).
    func rates(_ mode: ServiceMode, crossed: [Int64] = []) -> TokenRates {
        TokenRates { resolve($0, mode, crossed) }
    }

    func resolve(_ kind: PriceKind, _ mode: ServiceMode, _ crossed: [Int64]) -> Int64? {
        if let price = given(kind, mode, crossed) { return price }
        // Defaults (SPEC): cache reads 10% of input, cache writes 125%, 1-hour writes as 5-minute
        // ones, audio and reasoning at the plain input / output price of the same rule.
        return switch kind {
        case .input, .output: nil
        case .cacheRead: resolve(.input, mode, crossed).map { percent($0, 10) }
        case .cacheCreation: resolve(.input, mode, crossed).map { percent($0, 125) }
        case .cacheCreation1h: resolve(.cacheCreation, mode, crossed)
        case .audioInput: resolve(.input, mode, crossed)
        case .audioOutput, .reasoning: resolve(.output, mode, crossed)
        }
    }

    /// A price the entry states for this kind: the most specific threshold price first (its
    /// priority/batch variant before the plain one, so tiered beats priority and batch), then the
    /// mode's own price, then the standard price at the mode's default percentage.
    private func given(_ kind: PriceKind, _ mode: ServiceMode, _ crossed: [Int64]) -> Int64? {
        for threshold in crossed {
            if mode != .standard, let price = fields[PriceKey(kind: kind, threshold: threshold, mode: mode)] { return price }
            if let price = fields[PriceKey(kind: kind, threshold: threshold)] { return price }
        }
        if mode != .standard, let price = fields[PriceKey(kind: kind, mode: mode)] { return price }
        return fields[PriceKey(kind: kind)].map { percent($0, mode.defaultPercent) }
    }

    /// Thresholds that count for `mode`: those named by a plain or a same-mode field, ascending.
    func thresholds(for mode: ServiceMode) -> [Int64] {
        Set(fields.keys.compactMap { key in key.mode == .standard || key.mode == mode ? key.threshold : nil }).sorted()
    }

    /// A `tiered_pricing` tier's rates: its own prices, defaults derived from its input price; the
    /// output price falls back to the entry's (LiteLLM does the same), audio to the entry's audio.
    func rates(tier: PriceTier) -> TokenRates {
        let input = tier.prices[.input]
        let output = tier.prices[.output] ?? resolve(.output, .standard, [])
        let cacheCreation = tier.prices[.cacheCreation] ?? input.map { percent($0, 125) }
        return TokenRates { kind in
            if let price = tier.prices[kind] { return price }
            return switch kind {
            case .input: input
            case .output: output
            case .cacheRead: input.map { percent($0, 10) }
            case .cacheCreation: cacheCreation
            case .cacheCreation1h: cacheCreation
            case .audioInput: fields[PriceKey(kind: .audioInput)] ?? input
            case .audioOutput: fields[PriceKey(kind: .audioOutput)] ?? output
            case .reasoning: output
            }
        }
    }
}
