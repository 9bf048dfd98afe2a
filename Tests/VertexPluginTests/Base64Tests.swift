import Testing
@testable import VertexPlugin

@Suite struct Base64Tests {
    // RFC 4648 §10 vectors, in the url alphabet without padding.
    @Test(arguments: [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"),
                      ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")])
    func urlEncodingMatchesTheRFCVectors(input: String, expected: String) {
        #expect(Base64.urlEncoded(Array(input.utf8)) == expected)
    }

    @Test func urlEncodingUsesTheURLAlphabet() {
        #expect(Base64.urlEncoded([0xFB, 0xFF, 0xBF]) == "-_-_")
    }

    @Test func decodesWrappedPaddedAndURLSafeText() {
        #expect(Base64.decode("Zm9v\nYmFy".utf8) == Array("foobar".utf8))
        #expect(Base64.decode("Zm9vYg==\r\n".utf8) == Array("foob".utf8))
        #expect(Base64.decode("Zm9vYg".utf8) == Array("foob".utf8))
        #expect(Base64.decode("-_-_".utf8) == [0xFB, 0xFF, 0xBF])
        #expect(Base64.decode("+/+/".utf8) == [0xFB, 0xFF, 0xBF])
    }

    @Test func refusesWhatIsNotBase64() {
        #expect(Base64.decode("Zm9v!".utf8) == nil)
        #expect(Base64.decode("Zm9vY".utf8) == nil)       // a lone trailing symbol
        #expect(Base64.decode("Zg==Zg==".utf8) == nil)    // data after padding
        #expect(Base64.decode("Zm9vYg=".utf8) == nil)     // padding that does not finish the quantum
    }

    @Test func roundTripsEveryLength() {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.urlEncoded(bytes).utf8) == bytes)
        }
    }
}
