import TollgatePluginKit

/// One priced part of a bill: tokens of one kind at one price.
public struct BillLine: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case input, audioInput = "audio_input", cacheRead = "cache_read", cacheCreation = "cache_creation"
        case cacheCreation1h = "cache_creation_1h", output, reasoning, audioOutput = "audio_output"

        var priceKind: PriceKind {
            switch self {
            case .input: .input
            case .audioInput: .audioInput
            case .cacheRead: .cacheRead
            case .cacheCreation: .cacheCreation
            case .cacheCreation1h: .cacheCreation1h
            case .output: .output
            case .reasoning: .reasoning
            case .audioOutput: .audioOutput
            }
        }
    }

    public var kind: Kind
    public var tokens: Int64
    public var pricePerMillionNano: Int64
    /// The index of the `tiered_pricing` tier (segmented mode only).
    public var tier: Int?

    /// tokens × price, in nano-units × 1e6 (exact).
    var exactMicroNano: Int128 { Int128(tokens) * Int128(pricePerMillionNano) }

    /// This line alone, rounded half up (the bill's total is rounded once, from the exact sum).
    public var nanoUnits: Int64 { Int64(roundHalfUp(exactMicroNano)) }
}

/// Nano-units × 1e6 → nano-units, rounded half up (amounts are never negative).
func roundHalfUp(_ microNano: Int128) -> Int128 {
    (microNano + 500_000) / 1_000_000
}
