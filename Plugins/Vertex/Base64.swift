/// The two base64 forms the service-account flow needs, without Foundation: base64url without
/// padding for JWT segments (RFC 7515 §2), and lenient standard base64 for PEM bodies.
enum Base64 {
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// base64url, no `=` padding.
    static func urlEncoded(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(urlAlphabet[Int(n >> 18 & 63)])
            out.append(urlAlphabet[Int(n >> 12 & 63)])
            out.append(urlAlphabet[Int(n >> 6 & 63)])
            out.append(urlAlphabet[Int(n & 63)])
            i += 3
        }
        switch input.count - i {
        case 1:
            let n = UInt32(input[i]) << 16
            out.append(urlAlphabet[Int(n >> 18 & 63)])
            out.append(urlAlphabet[Int(n >> 12 & 63)])
        case 2:
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(urlAlphabet[Int(n >> 18 & 63)])
            out.append(urlAlphabet[Int(n >> 12 & 63)])
            out.append(urlAlphabet[Int(n >> 6 & 63)])
        default: break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes standard or url-safe base64, skipping whitespace (PEM wraps lines at 64 columns).
    /// Nil when a character is outside the alphabet, padding is misplaced, or the length is cut.
    static func decode(_ text: some Sequence<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        var symbols = 0
        for byte in text {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): value = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            case 0x20, 0x09, 0x0A, 0x0D: continue
            default: return nil
            }
            if padding > 0 { return nil }  // data after padding
            symbols += 1
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // A lone symbol in the last quantum cannot encode a byte; padding must complete the quantum.
        if symbols % 4 == 1 { return nil }
        if padding > 0 && (symbols + padding) % 4 != 0 { return nil }
        return out
    }
}
