/// Resolved prices for every token kind under one rule, nano-units per 1M tokens; nil where the
/// entry gives no price and none can be derived (no input price, say).
struct TokenRates: Sendable, Equatable {
    var input: Int64?
    var output: Int64?
    var cacheRead: Int64?
    var cacheCreation: Int64?
    var cacheCreation1h: Int64?
    var audioInput: Int64?
    var audioOutput: Int64?
    var reasoning: Int64?

    init(_ price: (PriceKind) -> Int64?) {
        input = price(.input)
        output = price(.output)
        cacheRead = price(.cacheRead)
        cacheCreation = price(.cacheCreation)
        cacheCreation1h = price(.cacheCreation1h)
        audioInput = price(.audioInput)
        audioOutput = price(.audioOutput)
        reasoning = price(.reasoning)
    }

    subscript(kind: PriceKind) -> Int64? {
        switch kind {
        case .input: input
        case .output: output
        case .cacheRead: cacheRead
        case .cacheCreation: cacheCreation
        case .cacheCreation1h: cacheCreation1h
        case .audioInput: audioInput
        case .audioOutput: audioOutput
        case .reasoning: reasoning
        }
    }
}

/// `price × percent / 100`, rounded half up to whole nano per 1M tokens (prices are capped at
/// `PriceLevel.maximumPrice`, so this cannot overflow).
func percent(_ price: Int64, _ percent: Int64) -> Int64 {
    (price * percent + 50) / 100
}
