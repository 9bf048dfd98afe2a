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

    public static func decimal(_ nano: Int64) -> String { decimal(nano, places: 9) }

    /// `value` / 10^`places` with every place written (`decimal(42, places: 3)` is `0.042`).
    static func decimal(_ value: Int64, places: Int) -> String {
        // Digits written backwards into a stack buffer, not interpolated: every priced answer
        // and ledger row writes one.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24 + places) { text in
            var magnitude = value.magnitude, start = text.count
            func put(_ byte: UInt8) { start -= 1; text[start] = byte }
            func digit() { put(UInt8(ascii: "0") + UInt8(magnitude % 10)); magnitude /= 10 }
            for _ in 0..<places { digit() }
            if places > 0 { put(UInt8(ascii: ".")) }
            repeat { digit() } while magnitude > 0
            if value < 0 { put(UInt8(ascii: "-")) }
            return String(decoding: UnsafeBufferPointer(rebasing: text[start...]), as: UTF8.self)
        }
    }

    /// Parses a decimal literal (`50`, `0.25`, `1e-3`, `-2.5`) into nano-units exactly; nil when it
    /// is not a number, has more than nine decimals after scaling, or does not fit.
    public static func parseNano(_ text: String) -> Int64? {
        guard case .success(let scaled) = ExactDecimal.scaled(text, shift: 9, allowsNegative: true), scaled.exact else { return nil }
        return scaled.value
    }
}
