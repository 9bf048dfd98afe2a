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

    /// `50`, `50 USD`, `12.5 EUR daily` (currency USD and period monthly when left out).
    public static func parse(_ text: String) -> Budget? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "/" }).map(String.init)
        guard (1...3).contains(parts.count), let nano = Money.parseNano(parts[0]), nano > 0 else { return nil }
        let currency = parts.count > 1 ? parts[1].uppercased() : "USD"
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        guard let period = parts.count > 2 ? Period(rawValue: parts[2].lowercased()) : .monthly else { return nil }
        return Budget(amountNano: nano, currency: currency, period: period)
    }

    /// A budget as storage keeps it (three nullable columns); nil when any is missing or unknown.
    init?(storedNano: Int64?, currency: String?, period: String?) {
        guard let storedNano, let currency, let period = period.flatMap(Period.init(rawValue:)) else { return nil }
        self.init(amountNano: storedNano, currency: currency, period: period)
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
