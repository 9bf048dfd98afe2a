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

    private static let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each zero byte of the word (and perhaps of bytes above the first one).
    @inline(__always)
    private static func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }

    /// Whether `plain` holds for every byte: words that `flagging` finds no byte in are passed
    /// whole; a flagged word, and the tail, are checked a byte at a time.
    @inline(__always)
    private static func every(_ bytes: UnsafeRawBufferPointer, flagging: (UInt64) -> UInt64, _ plain: (UInt8) -> Bool) -> Bool {
        var i = 0
        while i + 8 <= bytes.count {
            if flagging(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))) != 0 {
                for j in i..<(i + 8) where !plain(bytes[j]) { return false }
            }
            i += 8
        }
        while i < bytes.count {
            if !plain(bytes[i]) { return false }
            i += 1
        }
        return true
    }
}
