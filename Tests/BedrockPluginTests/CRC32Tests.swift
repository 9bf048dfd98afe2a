import Foundation
import Testing
@testable import BedrockPlugin

@Suite struct CRC32Tests {
    /// The CRC-32 check value (IEEE 802.3 / zlib), the example AWS's event-stream docs cite.
    @Test func checkValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test func continuesAcrossPieces() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        for split in 0...bytes.count {
            #expect(CRC32.update(CRC32.checksum(bytes[..<split]), bytes[split...]) == CRC32.checksum(bytes))
        }
    }

    @Test func acceptsAnyCollection() {
        let text = "123456789"
        #expect(CRC32.checksum(text.utf8) == 0xCBF4_3926)
        #expect(CRC32.checksum(Data(text.utf8)) == 0xCBF4_3926)
    }
}
