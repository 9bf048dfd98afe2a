/// Durations and instants as providers write them in rate-limit headers and error bodies, read
/// without Foundation (plugins link this too).
public enum ProviderTime {
    /// Go-style durations (`6m0s`, `1m30s`, `150ms`, `7.66s`, `1h2m`) and Google's `30s` / `1.5s`,
    /// in milliseconds (rounded up). A bare number is seconds. Nil when the text is not a duration.
    public static func milliseconds(_ text: String) -> Int64? {
        let chars = Array(text.utf8.drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed())
        guard !chars.isEmpty else { return nil }
        var total = 0.0
        var index = 0
        var sawUnit = false
        while index < chars.count {
            let start = index
            while index < chars.count, (chars[index] >= 0x30 && chars[index] <= 0x39) || chars[index] == 0x2E { index += 1 }
            guard index > start, let number = Double(String(decoding: chars[start..<index], as: UTF8.self)) else { return nil }
            let unitStart = index
            while index < chars.count, chars[index] >= 0x61 && chars[index] <= 0x7A { index += 1 }
            let scale: Double
            switch String(decoding: chars[unitStart..<index], as: UTF8.self) {
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 0.001
            case "us": scale = 0.000_001
            case "ns": scale = 0.000_000_001
            case "": guard !sawUnit, index == chars.count else { return nil }; scale = 1
            default: return nil
            }
            sawUnit = true
            total += number * scale
        }
        let millis = (total * 1000).rounded(.up)
        return millis < 9e15 ? Int64(millis) : nil
    }

    /// An RFC 3339 instant (`2024-06-01T12:00:30Z`, fractions and offsets allowed) as Unix
    /// milliseconds; nil when malformed.
    public static func unixMillis(rfc3339 text: String) -> Int64? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var value = 0
            for byte in b[from..<from + count] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] | 0x20 == 0x74, b[13] == 0x3A, b[16] == 0x3A,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var millis = 0
        if b[index] == 0x2E {
            index += 1
            var scale = 100
            while index < b.count, b[index] >= 0x30 && b[index] <= 0x39 {
                millis += Int(b[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        guard index < b.count else { return nil }
        var offset = 0
        if b[index] | 0x20 == 0x7A {
            index += 1
        } else if b[index] == 0x2B || b[index] == 0x2D, let h = number(index + 1, 2), index + 3 < b.count, b[index + 3] == 0x3A,
                  let m = number(index + 4, 2) {
            offset = (b[index] == 0x2D ? -1 : 1) * (h * 3600 + m * 60)
            index += 6
        } else { return nil }
        guard index == b.count else { return nil }
        let seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Int64(seconds) * 1000 + Int64(millis)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Unix milliseconds as RFC 3339 UTC with milliseconds (`2026-12-04T14:48:02.123Z`), the
    /// inverse of `unixMillis(rfc3339:)`. Written by hand: Foundation's date formatters page in
    /// ICU's data, megabytes of resident memory for a timestamp.
    public static func rfc3339(unixMillis: Int64) -> String {
        let millis = Int(unixMillis % 1000 + 1000) % 1000
        let seconds = Int((unixMillis - Int64(millis)) / 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = civilFromDays(days)
        let time = seconds - days * 86_400
        let pad = zeroPadded
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(time / 3600, 2)):\(pad(time / 60 % 60, 2)):\(pad(time % 60, 2)).\(pad(millis, 3))Z"
    }

    /// `n` in decimal, left-padded with zeros to `width` digits.
    public static func zeroPadded(_ n: Int, _ width: Int) -> String {
        let text = String(n)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
    public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
