/// One region's prices, compiled so that pricing a request only picks precomputed rates.
struct PricePlan: Sendable {
    struct Threshold: Sendable {
        var tokens: Int64
        var rates: TokenRates
    }

    struct Tier: Sendable {
        var start: Int64
        var end: Int64
        var rates: TokenRates
    }

    let standard: TokenRates
    let priority: TokenRates
    let batch: TokenRates
    /// `_above_N_tokens` thresholds per mode (in `ServiceMode.allCases` order), ascending. An
    /// array, not a dictionary: hashing the mode cost more than the rest of the lookup.
    let thresholds: [[Threshold]]
    /// `tiered_pricing`, when the entry has it; it then overrides thresholds, priority and batch.
    let tiers: [Tier]?

    init(fields: [PriceKey: Int64], tiers: [PriceTier]?) {
        let resolver = RateResolver(fields: fields)
        standard = resolver.rates(.standard)
        priority = resolver.rates(.priority)
        batch = resolver.rates(.batch)
        thresholds = ServiceMode.allCases.map { mode in
            let all = resolver.thresholds(for: mode)
            return all.enumerated().map { index, tokens in
                Threshold(tokens: tokens, rates: resolver.rates(mode, crossed: all[...index].reversed()))
            }
        }
        self.tiers = tiers?.map { Tier(start: $0.start, end: $0.end, rates: resolver.rates(tier: $0)) }
    }

    func rates(_ mode: ServiceMode) -> TokenRates {
        switch mode {
        case .standard: standard
        case .priority: priority
        case .batch: batch
        }
    }

    /// The highest threshold the prompt is above (LiteLLM: strictly above).
    func threshold(_ mode: ServiceMode, prompt: Int64) -> Threshold? {
        thresholds[mode.index].last { prompt > $0.tokens }
    }

    /// The tier whose (start, end] holds the prompt; past the last tier, the last; an empty
    /// prompt, the first.
    func tierIndex(prompt: Int64) -> Int? {
        guard let tiers, !tiers.isEmpty else { return nil }
        return tiers.firstIndex { prompt <= $0.end } ?? tiers.count - 1
    }
}
