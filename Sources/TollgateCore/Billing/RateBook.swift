import Synchronization

/// The exchange rates in force: the config's, with rates set through the admin API laid over them.
/// Shared by budgets and reports; swapped whole on change.
public final class RateBook: Sendable {
    private let base: ExchangeRates
    private let current: Mutex<ExchangeRates>

    public init(_ base: ExchangeRates) {
        self.base = base
        current = Mutex(base)
    }

    public var rates: ExchangeRates { current.withLock { $0 } }

    /// The config's rates plus `stored` (code -> units per USD in nano, set at Unix seconds).
    public func replaceStored(_ stored: [(code: String, nanoPerUSD: Int64, setAt: Int64)]) {
        var rates = base
        for rate in stored { rates.set(rate.code, perUSD: rate.nanoPerUSD, at: rate.setAt) }
        current.withLock { $0 = rates }
    }
}
