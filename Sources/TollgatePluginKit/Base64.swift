/// Base64 (RFC 4648) without Foundation, for every plugin: standard with padding (Bedrock
/// payloads, Gemini embeddings), base64url without padding (JWT segments, RFC 7515 §2), and one
/// decoder, strict by default, lenient for PEM bodies.
public enum Base64 {
    private static let standard = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let url = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Standard alphabet, `=` padding.
    public static func encode(_ bytes: some Collection<UInt8>) -> String { encode(bytes, alphabet: standard, padded: true) }

    /// base64url, no `=` padding.
    public static func urlEncoded(_ bytes: some Collection<UInt8>) -> String { encode(bytes, alphabet: url, padded: false) }

    private static func encode(_ bytes: some Collection<UInt8>, alphabet: [UInt8], padded: Bool) -> String {
        let input = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i < input.count {
            let n = min(3, input.count - i)
            let word = UInt32(input[i]) << 16 | (n > 1 ? UInt32(input[i + 1]) << 8 : 0) | (n > 2 ? UInt32(input[i + 2]) : 0)
            // n bytes take n + 1 symbols; the rest of the quantum is padding.
            for k in 0...n { out.append(alphabet[Int(word >> (18 - 6 * UInt32(k)) & 0x3F)]) }
            if padded { for _ in n..<3 { out.append(UInt8(ascii: "=")) } }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64; padding may be omitted. Nil on a character outside the alphabet, data
    /// after padding, padding that does not finish the last quantum, or a length no encoder
    /// makes (a lone symbol in the last quantum).
    /// - Parameter lenient: also take the url alphabet (`-_`) and skip white space (PEM wraps
    ///   lines at 64 columns); strict takes the standard alphabet only.
    public static func decode(_ text: some Sequence<UInt8>, lenient: Bool = false) -> [UInt8]? {
        var out: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        var symbols = 0
        for byte in text {
            if lenient && (byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D) { continue }
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "-") where lenient: value = 62
            case UInt8(ascii: "_") where lenient: value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
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
        if symbols % 4 == 1 { return nil }
        if padding > 0 && (padding > 2 || (symbols + padding) % 4 != 0) { return nil }
        return out
    }
}
