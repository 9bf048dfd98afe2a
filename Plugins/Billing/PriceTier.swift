/// One context-length tier of `tiered_pricing`: prompts of (start, end] tokens.
struct PriceTier: Sendable, Equatable {
    var start: Int64
    var end: Int64
    /// Its own prices, nano-units per 1M tokens; `input` is required.
    var prices: [PriceKind: Int64]
}
