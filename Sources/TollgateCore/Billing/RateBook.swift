import Synchronization

/// The exchange rates in force: the config's, with rates set through the admin API laid over them.
/// Shared by budgets and reports; swapped whole on change.
public final class RateBook: Sendable {
    public typealias Stored = (code: String, nanoPerUSD: Int64, setAt: Int64)
    private struct State {
        var base: ExchangeRates
        var stored: [Stored] = []
        var current: ExchangeRates
    }
    private let state: Mutex<State>

    public init(_ base: ExchangeRates) {
        state = Mutex(State(base: base, current: base))
    }

    public var rates: ExchangeRates { state.withLock { $0.current } }

    /// The config's rates plus `stored` (code -> units per USD in nano, set at Unix seconds).
    public func replaceStored(_ stored: [Stored]) {
        state.withLock { state in
            state.stored = stored
            Self.combine(&state)
        }
    }

    /// New rates from the config file (a reload), under the stored ones.
    public func replaceBase(_ base: ExchangeRates) {
        state.withLock { state in
            state.base = base
            Self.combine(&state)
        }
    }

    private static func combine(_ state: inout State) {
        var rates = state.base
        for rate in state.stored { rates.set(rate.code, perUSD: rate.nanoPerUSD, at: rate.setAt) }
        state.current = rates
    }
}
