/// A head's bytes checked where they lie, eight at a time while none is special (the zero-byte
/// test of "Bit Twiddling Hacks"): names and values are mostly plain text, and a byte-by-byte
/// check through a closure was most of reading and writing a head's lines.
enum FieldBytes {
    /// RFC 9110 `tchar` as a bit set over ASCII (bit n of `tokenLow` is byte n, of `tokenHigh`
    /// byte 64 + n): `!#$%&'*+-.^_`|~`, digits and letters.
    private static let tokenLow: UInt64 = 0x03ff_6cfa_0000_0000
    private static let tokenHigh: UInt64 = 0x57ff_ffff_c7ff_fffe

    /// An RFC 9110 token byte (a method's or a field name's).
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        byte < 64 ? tokenLow >> UInt64(byte) & 1 != 0 : byte < 128 && tokenHigh >> UInt64(byte - 64) & 1 != 0
    }

    /// Whether no byte is CR, LF or NUL: what a value written into a head may not hold (it would
    /// end or split its line).
    static func staysOnLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        every(bytes, flagging: { zeroBytes($0 ^ ones &* 0x0D) | zeroBytes($0 ^ ones &* 0x0A) | zeroBytes($0) }) { byte in
            byte != 0x0D && byte != 0x0A && byte != 0
        }
    }

    /// Whether no byte is a control character but a tab (CR, LF, NUL and DEL among them): what a
    /// field value read from the wire may not hold.
    static func hasNoControl(_ bytes: UnsafeRawBufferPointer) -> Bool {
        every(bytes, flagging: { ($0 &- ones &* 0x20) & ~$0 & highs | zeroBytes($0 ^ ones &* 0x7F) }) { byte in
            (byte >= 0x20 || byte == UInt8(ascii: "\t")) && byte != 0x7F
        }
    }

    /// Whether every byte is ASCII.
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        every(bytes, flagging: { $0 & highs }) { $0 < 0x80 }
    }

    /// Whether the bytes are a token (a field name), none of them empty.
    static func isToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy(isToken)
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each zero byte of the word (and perhaps of bytes above the first one).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }

    /// Whether `plain` holds for every byte: words that `flagging` finds no byte in are passed
    /// whole (the last word overlapping the one before, so no tail is read a byte at a time); a
    /// flagged word, or a text shorter than a word, is checked a byte at a time.
    @inline(__always)
    private static func every(_ bytes: UnsafeRawBufferPointer, flagging: (UInt64) -> UInt64, _ plain: (UInt8) -> Bool) -> Bool {
        let count = bytes.count
        guard count >= 8, let base = bytes.baseAddress else { return bytes.allSatisfy(plain) }
        var at = 0
        while true {
            if flagging(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))) != 0 {
                for offset in at..<(at + 8) where !plain(base.load(fromByteOffset: offset, as: UInt8.self)) { return false }
            }
            if at == count - 8 { return true }
            at = min(at + 8, count - 8)
        }
    }
}
