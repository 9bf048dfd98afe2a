/// The instant a request is signed, to the second, rendered in UTC as SigV4 wants it. Kept as
/// a number so the plugin needs no calendar library (the host clock gives Unix nanoseconds).
public struct SigningTime: Sendable, Hashable, Comparable {
    public var unixSeconds: Int64

    public init(unixSeconds: Int64) { self.unixSeconds = unixSeconds }

    /// From the host's wall clock (`Host.nowUnixNanos`); sub-second parts are dropped.
    public init(unixNanos: Int64) {
        let (q, r) = unixNanos.quotientAndRemainder(dividingBy: 1_000_000_000)
        self.unixSeconds = r < 0 ? q - 1 : q
    }

    /// Parses the `X-Amz-Date` form, `yyyyMMdd'T'HHmmss'Z'` (e.g. `20150830T123600Z`).
    public init?(amzDate: String) {
        let b = Array(amzDate.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for i in range {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(b[i] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        self.unixSeconds = days * 86_400 + hour * 3_600 + minute * 60 + second
    }

    /// `yyyyMMdd'T'HHmmss'Z'`, the `X-Amz-Date` header value.
    public var amzDate: String {
        let c = components
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z"
    }

    /// `yyyyMMdd`, the date in the credential scope.
    public var dateStamp: String {
        let c = components
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2)
    }

    public static func < (a: SigningTime, b: SigningTime) -> Bool { a.unixSeconds < b.unixSeconds }

    private var components: (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) {
        var (days, seconds) = unixSeconds.quotientAndRemainder(dividingBy: 86_400)
        if seconds < 0 { days -= 1; seconds += 86_400 }
        let (year, month, day) = Self.civilFromDays(days)
        return (year, month, day, seconds / 3_600, seconds % 3_600 / 60, seconds % 60)
    }

    private func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    // Howard Hinnant's proleptic Gregorian conversions (days since 1970-01-01).
    private static func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func daysFromCivil(year y0: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
