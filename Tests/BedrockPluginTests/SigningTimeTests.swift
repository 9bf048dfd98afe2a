import Foundation
import Testing
@testable import BedrockPlugin

@Suite struct SigningTimeTests {
    @Test func formatsUTC() {
        let t = SigningTime(unixSeconds: 1_440_938_160)
        #expect(t.amzDate == "20150830T123600Z")
        #expect(t.dateStamp == "20150830")
        #expect(SigningTime(unixSeconds: 0).amzDate == "19700101T000000Z")
        #expect(SigningTime(unixSeconds: 951_782_400).amzDate == "20000229T000000Z")
        #expect(SigningTime(unixSeconds: 1_709_251_199).amzDate == "20240229T235959Z")
        #expect(SigningTime(unixSeconds: -1).amzDate == "19691231T235959Z")
    }

    @Test func takesTheHostClockInNanoseconds() {
        #expect(SigningTime(unixNanos: 1_440_938_160_999_999_999).unixSeconds == 1_440_938_160)
        #expect(SigningTime(unixNanos: -1).unixSeconds == -1)
    }

    /// Every day from 1900 to 2200 against Foundation's Gregorian calendar.
    @Test func agreesWithFoundationDayByDay() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        for day in stride(from: Int64(-25_567), through: 84_000, by: 1) {
            let seconds = day * 86_400 + 45_296 // 12:34:56
            let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let expected = String(format: "%04d%02d%02dT123456Z", c.year ?? 0, c.month ?? 0, c.day ?? 0)
            let time = SigningTime(unixSeconds: seconds)
            if time.amzDate != expected {
                Issue.record("day \(day): \(time.amzDate) != \(expected)")
                return
            }
            #expect(SigningTime(amzDate: expected) == time)
        }
    }

    @Test func parsesOnlyValidAmzDates() {
        #expect(SigningTime(amzDate: "20150830T123600Z")?.unixSeconds == 1_440_938_160)
        for bad in ["", "20150830T123600", "2015-08-30T12:36:00Z", "20151330T123600Z", "20150230T123600Z",
                    "20150830T243600Z", "20150830T126000Z", "2015083OT123600Z", "20150830X123600Z"] {
            #expect(SigningTime(amzDate: bad) == nil, "\(bad)")
        }
    }
}
