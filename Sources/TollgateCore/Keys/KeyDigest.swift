import CLibCrypto

/// SHA-256 of a client key. Keys are stored and compared only in this form.
public struct KeyDigest: Hashable, Sendable {
    let words: (UInt64, UInt64, UInt64, UInt64)

    public init(of key: some Collection<UInt8>) {
        var digest = [UInt8](repeating: 0, count: 32)
        let bytes = Array(key)
        bytes.withUnsafeBufferPointer { input in
            _ = SHA256(input.baseAddress, input.count, &digest)
        }
        self.init(bytes: digest)
    }

    public init(of key: String) { self.init(of: Array(key.utf8)) }

    init(bytes: [UInt8]) {
        func word(_ i: Int) -> UInt64 { bytes[i..<(i + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
        words = (word(0), word(8), word(16), word(24))
    }

    /// Parses the 64-character hex form.
    public init?(hex: String) {
        let chars = Array(hex.utf8)
        guard chars.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(chars[i]), let low = hexValue(chars[i + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.init(bytes: bytes)
    }

    public var hex: String {
        [words.0, words.1, words.2, words.3].map { word in
            let s = String(word, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }.joined()
    }

    public static func == (a: KeyDigest, b: KeyDigest) -> Bool { a.words == b.words }
    public func hash(into hasher: inout Hasher) { hasher.combine(words.0); hasher.combine(words.1) }
}

/// Random key material from OpenSSL's generator.
public enum KeyGenerator {
    /// A new client key: `tg-` and 40 base62 characters (about 238 bits).
    public static func clientKey() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var bytes = [UInt8](repeating: 0, count: 64)
        _ = RAND_bytes(&bytes, Int32(bytes.count))
        // 248 is the largest multiple of 62 below 256: rejecting above it keeps characters uniform.
        let characters = bytes.filter { $0 < 248 }.prefix(40).map { alphabet[Int($0) % 62] }
        return "tg-" + String(characters)
    }
}
