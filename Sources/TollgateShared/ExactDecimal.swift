/// Reads a decimal literal (a JSON number's text, a config amount) exactly, never through Double,
/// scaled by a power of ten. The one decimal parser of the gateway: the billing plugin's prices
/// and the core's `Money` amounts both go through it.
///
/// Prices arrive as per-token decimals ("3e-06", "1.25e-07") and become integer nano-units per
/// 1M tokens (×1e15). Digits past the integer are rounded half up: one nano per 1M tokens is
/// 1e-15 per token, far below any published price, so only pathological literals round.
public enum ExactDecimal {
    public enum Failure: Error, Equatable {
        case notANumber
        case negative
        case tooLarge
    }

    /// `literal × 10^shift`, rounded half up to an integer (on its magnitude); `exact` is false
    /// when digits were dropped. A negative literal fails unless `allowsNegative`.
    public static func scaled(_ literal: String, shift: Int, allowsNegative: Bool = false) -> Result<(value: Int64, exact: Bool), Failure> {
        var bytes = Array(literal.utf8)[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") { negative = true; bytes = bytes.dropFirst() }
        var digits: [UInt8] = []
        var fractionLength = 0
        var sawDigit = false
        var inFraction = false
        while let b = bytes.first, b != UInt8(ascii: "e"), b != UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if b == UInt8(ascii: ".") {
                guard !inFraction else { return .failure(.notANumber) }
                inFraction = true
            } else if b >= 0x30 && b <= 0x39 {
                sawDigit = true
                digits.append(b - 0x30)
                if inFraction { fractionLength += 1 }
            } else {
                return .failure(.notANumber)
            }
        }
        guard sawDigit else { return .failure(.notANumber) }
        var exponent = 0
        if !bytes.isEmpty {
            bytes = bytes.dropFirst()
            var exponentNegative = false
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                exponentNegative = sign == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty else { return .failure(.notANumber) }
            for b in bytes {
                guard b >= 0x30 && b <= 0x39 else { return .failure(.notANumber) }
                // Clamp: an exponent this large is all zeros or an overflow either way.
                exponent = min(exponent * 10 + Int(b - 0x30), 10_000)
            }
            if exponentNegative { exponent = -exponent }
        }
        let significant = Array(digits.drop(while: { $0 == 0 }))
        if significant.isEmpty { return .success((0, true)) }
        if negative && !allowsNegative { return .failure(.negative) }
        let scale = exponent - fractionLength + shift
        // Keep `keep` leading digits; the rest are dropped (scale < 0) or zeros are appended.
        let keep = significant.count + scale
        var value: Int64 = 0
        for i in 0..<max(keep, 0) {
            let digit = i < significant.count ? Int64(significant[i]) : 0
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(digit)
            guard !o1, !o2 else { return .failure(.tooLarge) }
            value = sum
        }
        let sign: Int64 = negative ? -1 : 1
        guard keep < significant.count else { return .success((sign * value, true)) }
        let dropped = significant[max(keep, 0)...]
        let exact = dropped.allSatisfy { $0 == 0 }
        // Half up: the first dropped digit decides (only when it sits right after the kept ones).
        if keep >= 0, let first = dropped.first, first >= 5 {
            let (rounded, overflow) = value.addingReportingOverflow(1)
            guard !overflow else { return .failure(.tooLarge) }
            value = rounded
        }
        return .success((sign * value, exact))
    }

    /// A per-token price literal as nano-units per 1M tokens (×1e15), rounded half up.
    public static func nanoPerMillionTokens(_ literal: String) -> Result<Int64, Failure> {
        scaled(literal, shift: 15).map(\.value)
    }
}
