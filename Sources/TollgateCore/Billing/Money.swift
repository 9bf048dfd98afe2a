/// An amount of money in integer nano-units (1e9 per unit) of one currency. Never a float:
/// bills are summed and compared exactly.
public struct Money: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var nanoUnits: Int64
    public var currency: String

    public init(nanoUnits: Int64, currency: String) {
        self.nanoUnits = nanoUnits
        self.currency = currency
    }

    public static let nanoPerUnit: Int64 = 1_000_000_000

    /// `0.000915000`: every nano digit kept, so the text is the exact amount.
    public var decimal: String { Money.decimal(nanoUnits) }

    public var description: String { "\(decimal) \(currency)" }

    public static func decimal(_ nano: Int64) -> String {
        let sign = nano < 0 ? "-" : ""
        let magnitude = nano.magnitude
        let units = magnitude / UInt64(nanoPerUnit)
        let fraction = String(magnitude % UInt64(nanoPerUnit))
        return "\(sign)\(units).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }

    /// Parses a decimal literal (`50`, `0.25`, `1e-3`, `-2.5`) into nano-units exactly; nil when it
    /// is not a number, has more than nine decimals after scaling, or does not fit.
    public static func parseNano(_ text: String) -> Int64? {
        guard case .success(let scaled) = ExactDecimal.scaled(text, shift: 9, allowsNegative: true), scaled.exact else { return nil }
        return scaled.value
    }
}
