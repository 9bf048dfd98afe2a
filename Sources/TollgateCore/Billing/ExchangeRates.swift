/// Exchange rates as units of each currency per 1 USD, kept as exact integers (rate x 1e9) with
/// the time they were set, so reports and budgets in another currency convert without floats.
public struct ExchangeRates: Sendable {
    /// Currency code -> (units per USD in nano, set at Unix seconds).
    public private(set) var rates: [String: (nanoPerUSD: Int64, setAt: Int64)] = ["USD": (Money.nanoPerUnit, .max)]

    public init() {}

    /// A rate older than this is flagged stale in reports.
    public static let staleAfterSeconds: Int64 = 24 * 3600

    public mutating func set(_ currency: String, perUSD: Int64, at: Int64) {
        rates[currency.uppercased()] = (perUSD, at)
    }

    /// `money` in `currency`, rounded half up to the nano-unit; nil when a rate is missing.
    public func convert(_ money: Money, to currency: String, now: Int64) -> (money: Money, stale: Bool)? {
        if money.currency == currency { return (money, false) }
        guard let from = rates[money.currency], let to = rates[currency], from.nanoPerUSD > 0 else { return nil }
        let product = Int128(money.nanoUnits) * Int128(to.nanoPerUSD)
        let divisor = Int128(from.nanoPerUSD)
        let rounded = (product + (product >= 0 ? divisor / 2 : -divisor / 2)) / divisor
        guard let nano = Int64(exactly: rounded) else { return nil }
        let stale = [from.setAt, to.setAt].contains { $0 != .max && now - $0 > Self.staleAfterSeconds }
        return (Money(nanoUnits: nano, currency: currency), stale)
    }
}
