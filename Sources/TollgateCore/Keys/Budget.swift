import Foundation

/// A key's spending limit in money over a period.
public struct Budget: Sendable, Equatable {
    public enum Period: String, Sendable, CaseIterable {
        case daily, weekly, monthly, total
    }

    public var amountNano: Int64
    public var currency: String
    public var period: Period

    public init(amountNano: Int64, currency: String, period: Period) {
        self.amountNano = amountNano
        self.currency = currency
        self.period = period
    }

    /// The start of the period containing `now` (UTC), Unix seconds.
    public func periodStart(now: Int64) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        calendar.firstWeekday = 2  // weeks start on Monday
        let date = Date(timeIntervalSince1970: TimeInterval(now))
        let start: Date? = switch period {
        case .daily: calendar.startOfDay(for: date)
        case .weekly: calendar.dateInterval(of: .weekOfYear, for: date)?.start
        case .monthly: calendar.dateInterval(of: .month, for: date)?.start
        case .total: Date(timeIntervalSince1970: 0)
        }
        return Int64((start ?? date).timeIntervalSince1970)
    }
}
