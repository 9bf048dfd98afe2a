import Foundation

/// Durations as providers write them in rate-limit headers and error bodies.
enum DurationText {
    /// Go-style durations (`6m0s`, `1m30s`, `150ms`, `7.66s`, `1h2m`) and Google's `30s` / `1.5s`.
    /// A bare number is seconds. Nil when the text is not a duration.
    static func parse(_ text: String) -> Duration? {
        let chars = Array(text.trimmingCharacters(in: .whitespaces).utf8)
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
            let unit = String(decoding: chars[unitStart..<index], as: UTF8.self)
            let scale: Double
            switch unit {
            case "h": scale = 3600
            case "m": scale = 60
            case "s": scale = 1
            case "ms": scale = 0.001
            case "us", "µs": scale = 0.000_001
            case "ns": scale = 0.000_000_001
            case "": guard !sawUnit, index == chars.count else { return nil }; scale = 1
            default: return nil
            }
            sawUnit = true
            total += number * scale
        }
        return .milliseconds(Int64((total * 1000).rounded(.up)))
    }

    /// `retry-after`: delay seconds (`120`, `1.5`) or an HTTP date, relative to `now`.
    static func retryAfter(_ text: String, now: Date) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return seconds >= 0 ? .milliseconds(Int64((seconds * 1000).rounded(.up))) : nil }
        guard let date = httpDate(trimmed) else { return nil }
        return .milliseconds(max(0, Int64((date.timeIntervalSince(now) * 1000).rounded(.up))))
    }

    /// RFC 3339 (`2024-06-01T12:00:30Z`, fractions allowed), relative to `now`.
    static func untilTimestamp(_ text: String, now: Date) -> Duration? {
        let formatter = ISO8601DateFormatter()
        var date = formatter.date(from: text)
        if date == nil {
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            date = formatter.date(from: text)
        }
        guard let date else { return nil }
        return .milliseconds(max(0, Int64((date.timeIntervalSince(now) * 1000).rounded(.up))))
    }

    /// IMF-fixdate, e.g. `Wed, 21 Oct 2015 07:28:00 GMT`.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    /// Whole seconds, rounded up, at least 1: what a `retry-after` header carries.
    static func headerSeconds(_ duration: Duration) -> String {
        let (seconds, atto) = duration.components
        return String(max(1, seconds + (atto > 0 ? 1 : 0)))
    }
}
