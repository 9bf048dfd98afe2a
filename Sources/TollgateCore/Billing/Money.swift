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

    /// Parses a decimal literal (`50`, `0.25`, `1e-3`) into nano-units exactly; nil when it is
    /// not a number, has more than nine decimals after scaling, or does not fit.
    public static func parseNano(_ text: String) -> Int64? {
        guard let (digits, exponent, negative) = decimalParts(text) else { return nil }
        let shift = exponent + 9
        var value = digits
        if shift >= 0 {
            for _ in 0..<shift {
                let (m, o) = value.multipliedReportingOverflow(by: 10)
                if o { return nil }
                value = m
            }
        } else {
            for _ in 0..<(-shift) {
                guard value % 10 == 0 else { return nil }
                value /= 10
            }
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return negative ? -Int64(value) : Int64(value)
    }

    /// Splits `-12.5e-3` into digits 125, exponent -4, negative.
    static func decimalParts(_ text: String) -> (UInt64, Int, Bool)? {
        var bytes = Substring(text)
        var negative = false
        if bytes.first == "-" { negative = true; bytes = bytes.dropFirst() }
        var mantissa = bytes
        var exponent = 0
        if let e = bytes.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let exp = Int(bytes[bytes.index(after: e)...]), abs(exp) < 40 else { return nil }
            exponent = exp
            mantissa = bytes[..<e]
        }
        var digits: UInt64 = 0
        var seenDot = false
        var any = false
        for ch in mantissa {
            if ch == "." {
                guard !seenDot else { return nil }
                seenDot = true
                continue
            }
            guard let d = ch.wholeNumberValue, ch.isASCII else { return nil }
            let (m, o1) = digits.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            digits = s
            any = true
            if seenDot { exponent -= 1 }
        }
        return any ? (digits, exponent, negative) : nil
    }
}
