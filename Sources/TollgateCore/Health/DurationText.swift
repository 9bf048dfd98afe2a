import Foundation

/// HTTP's own durations (`retry-after`); providers' other forms are `ProviderTime`'s.
enum DurationText {
    /// `retry-after`: delay seconds (`120`, `1.5`) or an HTTP date, relative to `now`.
    static func retryAfter(_ text: String, now: Date) -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed) { return seconds >= 0 ? .milliseconds(Int64((seconds * 1000).rounded(.up))) : nil }
        guard let date = httpDate(trimmed) else { return nil }
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
