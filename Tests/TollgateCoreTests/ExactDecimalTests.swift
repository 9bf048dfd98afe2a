import Testing
import TollgateShared

@Suite struct ExactDecimalTests {
    func nano(_ literal: String) -> Int64? { try? ExactDecimal.nanoPerMillionTokens(literal).get() }

    @Test func convertsPerTokenPricesExactly() {
        #expect(nano("3e-06") == 3_000_000_000)
        #expect(nano("1.25e-07") == 125_000_000)
        #expect(nano("0.000003") == 3_000_000_000)
        #expect(nano("2.475e-05") == 24_750_000_000)
        #expect(nano("6.25e-08") == 62_500_000)
        #expect(nano("0") == 0)
        #expect(nano("0.0") == 0)
        #expect(nano("1") == 1_000_000_000_000_000)
        #expect(nano("1E-6") == 1_000_000_000)
        #expect(nano("3.0e-6") == 3_000_000_000)
    }

    /// One nano per 1M tokens is 1e-15 per token: digits past it round half up.
    @Test func roundsHalfUpPastOneNanoPerMillion() {
        #expect(nano("1.2345678901234567e-06") == 1_234_567_890)
        #expect(nano("1.5e-15") == 2)
        #expect(nano("1.4999e-15") == 1)
        #expect(nano("5e-16") == 1)
        #expect(nano("4.99e-16") == 0)
        #expect(nano("2.5e-16") == 0)
        #expect(nano("1e-30") == 0)
    }

    @Test func refusesNegativeHugeAndNonNumbers() {
        #expect(ExactDecimal.nanoPerMillionTokens("-1e-06") == .failure(.negative))
        #expect(ExactDecimal.nanoPerMillionTokens("1e10") == .failure(.tooLarge))
        #expect(ExactDecimal.nanoPerMillionTokens("abc") == .failure(.notANumber))
        #expect(ExactDecimal.nanoPerMillionTokens("1e") == .failure(.notANumber))
        #expect(ExactDecimal.nanoPerMillionTokens("-0") == .success(0))
    }

    @Test func readsWholeTokenCounts() throws {
        let bound = try ExactDecimal.scaled("256000.0", shift: 0).get()
        #expect(bound.value == 256_000 && bound.exact)
        #expect(try ExactDecimal.scaled("1.5", shift: 0).get().exact == false)
        #expect(try ExactDecimal.scaled("2.56e5", shift: 0).get().value == 256_000)
    }

    /// What `Money.parseNano` asks for: signed amounts, exact or refused.
    @Test func signedAmountsWhenAllowed() throws {
        #expect(try ExactDecimal.scaled("-2.5", shift: 9, allowsNegative: true).get().value == -2_500_000_000)
        #expect(try ExactDecimal.scaled("-1.25e-9", shift: 9, allowsNegative: true).get().exact == false)
        #expect(try ExactDecimal.scaled("-9223372036854775807", shift: 0, allowsNegative: true).get().value == -Int64.max)
        for bad in ["-", "-.", "--1", "-1e", "-1e+", "1-", "1e1.5", " 1", "1 ", "0x10", "١"] {
            #expect(throws: ExactDecimal.Failure.notANumber, "\(bad)") { try ExactDecimal.scaled(bad, shift: 9, allowsNegative: true).get() }
        }
        #expect(throws: ExactDecimal.Failure.tooLarge) { try ExactDecimal.scaled("-1e99", shift: 9, allowsNegative: true).get() }
    }
}
