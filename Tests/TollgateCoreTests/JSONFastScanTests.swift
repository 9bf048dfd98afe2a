import Testing
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
        #expect(!JSONParser.hasSpecialByte(0x6161_6161_6161_6161))
        #expect(!JSONParser.hasSpecialByte(0x7E7E_2020_2121_2323))  // '~', ' ', '!', '#'
        for special: UInt64 in [0x22, 0x5C, 0x00, 0x1F, 0x80, 0xFF] {
            for shift in stride(from: 0, to: 64, by: 8) {
                let word = (0x6161_6161_6161_6161 & ~(UInt64(0xFF) << UInt64(shift))) | (special << UInt64(shift))
                #expect(JSONParser.hasSpecialByte(word), "byte \(special) at bit \(shift)")
            }
        }
    }
}
