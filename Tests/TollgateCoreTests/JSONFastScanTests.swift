import Testing
import TestSupport
@testable import TollgateShared

/// The JSON string scan steps over eight plain bytes at a time; whatever stands at any offset of
/// a long string must still be seen.
@Suite struct JSONFastScanTests {
    static let quote = UInt8(ascii: "\"")

    static func quoted(_ content: [UInt8]) -> [UInt8] { [quote] + content + [quote] }
    static func isValid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { JSONParser.validate($0) } == nil }

    @Test func everySpecialByteIsFoundAtEveryOffset() throws {
        let plain = Array(repeating: UInt8(ascii: "a"), count: 40)
        for offset in 0..<24 {
            var withQuote = plain
            withQuote[offset] = Self.quote
            #expect(!Self.isValid(Self.quoted(withQuote)), "quote at \(offset)")
            var withControl = plain
            withControl[offset] = 0x1F
            #expect(!Self.isValid(Self.quoted(withControl)), "control byte at \(offset)")
            var badUTF8 = plain
            badUTF8[offset] = 0xFF
            #expect(!Self.isValid(Self.quoted(badUTF8)), "invalid UTF-8 at \(offset)")
            var withEscape = plain
            withEscape.replaceSubrange(offset..<(offset + 2), with: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            let expected = String(repeating: "a", count: offset) + "\n" + String(repeating: "a", count: 38 - offset)
            #expect(try JSONParser.parse(Self.quoted(withEscape)) == .string(expected))
            var withUTF8 = plain
            withUTF8.replaceSubrange(offset..<(offset + 2), with: [0xC3, 0xA9])
            #expect(try JSONParser.parse(Self.quoted(withUTF8)).stringValue?.contains("é") == true)
        }
    }

    @Test func plainWordsHaveNoSpecialByte() {
        #expect(JSONParser.specialBytes(0x6161_6161_6161_6161) == 0)
        #expect(JSONParser.specialBytes(0x7E7E_2020_2121_2323) == 0)  // '~', ' ', '!', '#'
        #expect(JSONValue.escapedBytes(0xC3A9_E282_AC7F_7E20) == 0)  // past ASCII, DEL, '~', ' ': written as they are
        for special: UInt64 in [0x22, 0x5C, 0x00, 0x1F, 0x80, 0xFF] {
            for shift in stride(from: 0, to: 64, by: 8) {
                let word = (0x6161_6161_6161_6161 & ~(UInt64(0xFF) << UInt64(shift))) | (special << UInt64(shift))
                #expect(JSONParser.specialBytes(word).trailingZeroBitCount >> 3 == shift / 8, "byte \(special) at bit \(shift)")
            }
        }
    }

    /// The scan and the writer jump to the lowest byte a word's mask marks: it must be the first
    /// special byte of any eight, whatever follows it (a borrow may mark bytes after it).
    @Test func theLowestMarkIsTheFirstSpecialByte() {
        let bytes: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x61, 0x7F, 0x80, 0xA9, 0xC3, 0xFF]
        var random = SplitMix(seed: 0x5ca9)
        var checked = 0
        for _ in 0..<20_000 {
            let word = (0..<8).map { _ in bytes.randomElement(using: &random)! }
            let value = word.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            let special = word.firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 || $0 >= 0x80 }
            let escaped = word.firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }
            let specialMask = JSONParser.specialBytes(value), escapedMask = JSONValue.escapedBytes(value)
            #expect((specialMask == 0 ? nil : specialMask.trailingZeroBitCount >> 3) == special, "\(word)")
            #expect((escapedMask == 0 ? nil : escapedMask.trailingZeroBitCount >> 3) == escaped, "\(word)")
            checked += 1
        }
        #expect(checked == 20_000)
    }
}
