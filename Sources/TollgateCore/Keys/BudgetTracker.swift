import Synchronization

/// Money spent per key in its budget's current period, held in memory: checked before a request
/// (no database read) and charged after it. Loaded from the usage ledger at start, so a restart
/// keeps what was spent.
public final class BudgetTracker: Sendable {
    struct Account {
        var budget: Budget
        var periodStart: Int64
        var spentNano: Int64
    }

    private let accounts: Mutex<[String: Account]>
    private let rates: ExchangeRates

    public init(budgets: [String: Budget], rates: ExchangeRates) {
        accounts = Mutex(budgets.mapValues { Account(budget: $0, periodStart: 0, spentNano: 0) })
        self.rates = rates
    }

    public var isEmpty: Bool { accounts.withLock { $0.isEmpty } }

    /// Sets each key's spend from the ledger (spend by key and currency since each period began).
    public func load(now: Int64, spend: (Int64) async throws -> [String: [String: Int64]]) async throws {
        let starts = accounts.withLock { $0.mapValues { $0.budget.periodStart(now: now) } }
        var totals: [String: Int64] = [:]
        for start in Set(starts.values) {
            let spent = try await spend(start * 1000)
            for (key, keyStart) in starts where keyStart == start {
                totals[key] = (spent[key] ?? [:]).reduce(0) { sum, item in
                    sum + (convert(Money(nanoUnits: item.value, currency: item.key), key: key, now: now) ?? 0)
                }
            }
        }
        accounts.withLock { accounts in
            for (key, start) in starts {
                accounts[key]?.periodStart = start
                accounts[key]?.spentNano = totals[key] ?? 0
            }
        }
    }

    /// Nil when the key may spend; otherwise the 402 to answer.
    public func check(key: String, now: Int64) -> GatewayError? {
        accounts.withLock { accounts -> GatewayError? in
            guard var account = accounts[key] else { return nil }
            rollOver(&account, now: now)
            accounts[key] = account
            guard account.spentNano >= account.budget.amountNano else { return nil }
            let budget = account.budget
            return GatewayError(status: 402, type: "insufficient_quota", code: "insufficient_quota",
                                message: "key '\(key)' has used its \(budget.period.rawValue) budget of "
                                    + "\(Money(nanoUnits: budget.amountNano, currency: budget.currency))")
        }
    }

    /// Adds a request's cost to its key's period spend.
    public func charge(key: String, cost: Money, now: Int64) {
        guard let nano = convert(cost, key: key, now: now) else { return }
        accounts.withLock { accounts in
            guard var account = accounts[key] else { return }
            rollOver(&account, now: now)
            account.spentNano += nano
            accounts[key] = account
        }
    }

    public func spent(key: String) -> Money? {
        accounts.withLock { $0[key].map { Money(nanoUnits: $0.spentNano, currency: $0.budget.currency) } }
    }

    private func convert(_ cost: Money, key: String, now: Int64) -> Int64? {
        guard let currency = accounts.withLock({ $0[key]?.budget.currency }) else { return nil }
        return rates.convert(cost, to: currency, now: now)?.money.nanoUnits
    }

    private func rollOver(_ account: inout Account, now: Int64) {
        let start = account.budget.periodStart(now: now)
        if start != account.periodStart {
            account.periodStart = start
            account.spentNano = 0
        }
    }
}
