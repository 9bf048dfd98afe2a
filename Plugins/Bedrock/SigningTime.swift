import TollgatePluginKit

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
        let days = Int64(ProviderTime.daysFromCivil(Int(year), Int(month), Int(day)))
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
        let (year, month, day) = ProviderTime.civilFromDays(Int(days))
        return (Int64(year), Int64(month), Int64(day), seconds / 3_600, seconds % 3_600 / 60, seconds % 60)
    }

    private func pad(_ value: Int64, _ width: Int) -> String { ProviderTime.zeroPadded(Int(value), width) }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
