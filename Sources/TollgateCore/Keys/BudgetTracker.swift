import Logging
import Synchronization

/// Money spent per key in its budget's current period, held in memory: checked before a request
/// (no database read) and charged after it. Each charge is also added in the database, atomically,
/// off the hot path; the total it returns (every instance's spend) replaces the in-memory one, so
/// instances sharing a database overspend by at most the requests in flight.
///
/// Requests in flight hold a reservation (`reserve`): their estimated cost counts as spent until
/// they settle with their real cost, and a key is admitted only while its spend plus what is
/// reserved is under its budget, so concurrent requests of one key overspend by at most one.
public final class BudgetTracker: Sendable {
    struct Account {
        var budget: Budget
        var periodStart: Int64
        var spentNano: Int64
        /// Estimates of the requests in flight (this period).
        var reservedNano: Int64 = 0
    }

    /// A request's reservation, given back by `settle`.
    public struct Hold: Sendable {
        let key: String
        let nano: Int64
        let periodStart: Int64
    }

    private let accounts: Mutex<[String: Account]>
    private let rates: RateBook
    private let storage: (any Storage)?
    private let logger: Logger
    /// Charges on their way to storage (shutdown waits for them).
    private let pending = Atomic<Int>(0)

    public init(budgets: [String: Budget], rates: RateBook, storage: (any Storage)? = nil,
                logger: Logger = Logger(label: "tollgate.budgets")) {
        accounts = Mutex(budgets.mapValues { Account(budget: $0, periodStart: 0, spentNano: 0) })
        self.rates = rates
        self.storage = storage
        self.logger = logger
    }

    public var isEmpty: Bool { accounts.withLock { $0.isEmpty } }

    /// Names of the keys with a budget.
    public var keyNames: [String] { accounts.withLock { $0.keys.sorted() } }

    /// The budget each key has now (a key left out has none). A key whose currency and period
    /// stay keeps what it spent; true when some key needs its spend read from storage.
    @discardableResult
    public func replaceBudgets(_ budgets: [String: Budget]) -> Bool {
        accounts.withLock { accounts in
            var unread = false
            accounts = budgets.reduce(into: [:]) { result, entry in
                let (key, budget) = entry
                if var account = accounts[key], account.budget.currency == budget.currency, account.budget.period == budget.period {
                    account.budget = budget
                    result[key] = account
                } else {
                    result[key] = Account(budget: budget, periodStart: 0, spentNano: 0)
                    unread = true
                }
            }
            return unread
        }
    }

    /// Reads each key's spend in its current period from storage (after a restart, or to see
    /// what other instances spent).
    public func refresh(now: Int64) async throws {
        guard let storage else { return }
        let current = accounts.withLock { $0.mapValues { ($0.budget, $0.budget.periodStart(now: now)) } }
        for (key, (budget, start)) in current {
            let spent = try await storage.budgetSpent(key: key, periodStart: start, currency: budget.currency)
            accounts.withLock { accounts in
                guard var account = accounts[key] else { return }
                // Within a period the larger figure wins: charges of this instance may still be on their way.
                account.spentNano = account.periodStart == start ? max(account.spentNano, spent) : spent
                account.periodStart = start
                accounts[key] = account
            }
        }
    }

    public enum Admission: Sendable {
        case allow
        case deny(GatewayError)
        /// Past half its budget: confirm against the database's total first.
        case verify
    }

    /// Decides from memory; a key past half its budget (with shared storage) is sent to `verify`,
    /// so instances sharing a budget overspend by at most the requests in flight.
    public func admit(key: String, now: Int64) -> Admission {
        if let refusal = check(key: key, now: now) { return .deny(refusal) }
        guard storage != nil, let account = accounts.withLock({ $0[key] }),
              account.spentNano * 2 >= account.budget.amountNano else { return .allow }
        return .verify
    }

    /// Waits for this instance's charges to reach storage, reads the key's shared total, and
    /// checks it. A storage failure admits the request (the in-memory check already passed).
    public func verify(key: String, now: Int64) async -> GatewayError? {
        await drain(within: .seconds(2))
        guard let storage, let (budget, start) = accounts.withLock({ accounts -> (Budget, Int64)? in
            accounts[key].map { ($0.budget, $0.budget.periodStart(now: now)) }
        }) else { return nil }
        do {
            let spent = try await storage.budgetSpent(key: key, periodStart: start, currency: budget.currency)
            accounts.withLock { accounts in
                guard var account = accounts[key], account.periodStart == start else { return }
                account.spentNano = max(account.spentNano, spent)
                accounts[key] = account
            }
        } catch {
            logger.warning("budget not verified against storage", metadata: ["key": .string(key), "error": "\(error)"])
        }
        return check(key: key, now: now)
    }

    /// Nil when the key may spend; otherwise the 402 to answer.
    public func check(key: String, now: Int64) -> GatewayError? {
        accounts.withLock { accounts -> GatewayError? in
            guard var account = accounts[key] else { return nil }
            rollOver(&account, now: now)
            accounts[key] = account
            guard account.spentNano + account.reservedNano >= account.budget.amountNano else { return nil }
            return Self.exhausted(key: key, account.budget, inFlight: account.reservedNano > 0)
        }
    }

    static func exhausted(key: String, _ budget: Budget, inFlight: Bool) -> GatewayError {
        GatewayError(status: 402, type: "insufficient_quota", code: "insufficient_quota",
                     message: "key '\(key)' has used its \(budget.period.rawValue) budget of "
                        + "\(Money(nanoUnits: budget.amountNano, currency: budget.currency))"
                        + (inFlight ? " (counting its requests in flight)" : ""))
    }

    public func hasBudget(key: String) -> Bool { accounts.withLock { $0[key] != nil } }

    /// Reserves `estimate` for a request of `key`, checking and reserving under one lock: refused
    /// (402) when what is spent and reserved already reaches the budget. Nil for a key without a
    /// budget; an estimate in a currency without a rate reserves nothing (logged).
    public func reserve(key: String, estimate: Money, now: Int64) throws(GatewayError) -> Hold? {
        let converted = accounts.withLock { $0[key] }.flatMap { rates.rates.convert(estimate, to: $0.budget.currency, now: now)?.money }
        let result = accounts.withLock { accounts -> Result<Hold?, GatewayError> in
            guard var account = accounts[key] else { return .success(nil) }
            rollOver(&account, now: now)
            defer { accounts[key] = account }
            guard account.spentNano + account.reservedNano < account.budget.amountNano else {
                return .failure(Self.exhausted(key: key, account.budget, inFlight: account.reservedNano > 0))
            }
            let nano = max(0, converted?.nanoUnits ?? 0)
            account.reservedNano += nano
            return .success(Hold(key: key, nano: nano, periodStart: account.periodStart))
        }
        return try result.get()
    }

    /// Gives a reservation back and charges the request's real cost (nil: nothing to charge).
    public func settle(_ hold: Hold, cost: Money?, now: Int64) {
        accounts.withLock { accounts in
            guard var account = accounts[hold.key], account.periodStart == hold.periodStart else { return }
            account.reservedNano = max(0, account.reservedNano - hold.nano)
            accounts[hold.key] = account
        }
        if let cost { charge(key: hold.key, cost: cost, now: now) }
    }

    /// Adds a request's cost to its key's period spend, here at once and in storage soon after.
    public func charge(key: String, cost: Money, now: Int64) {
        let charged = accounts.withLock { accounts -> (Int64, Int64, String)? in
            guard var account = accounts[key],
                  let nano = rates.rates.convert(cost, to: account.budget.currency, now: now)?.money.nanoUnits else { return nil }
            rollOver(&account, now: now)
            account.spentNano += nano
            accounts[key] = account
            return (nano, account.periodStart, account.budget.currency)
        }
        guard let (nano, start, currency) = charged else {
            if accounts.withLock({ $0[key] != nil }) {
                logger.error("budget not charged: no exchange rate", metadata: ["key": .string(key), "currency": .string(cost.currency)])
            }
            return
        }
        guard let storage else { return }
        pending.add(1, ordering: .relaxed)
        Task { [logger] in
            defer { pending.subtract(1, ordering: .relaxed) }
            do {
                let total = try await storage.addBudgetSpend(key: key, periodStart: start, currency: currency, nano: nano)
                accounts.withLock { accounts in
                    guard var account = accounts[key], account.periodStart == start else { return }
                    account.spentNano = max(total, account.spentNano)
                    accounts[key] = account
                }
            } catch {
                logger.error("budget spend not stored", metadata: ["key": .string(key), "error": "\(error)"])
            }
        }
    }

    /// Waits (bounded) until every charge reached storage.
    public func drain(within limit: Duration = .seconds(5)) async {
        let deadline = ContinuousClock.now + limit
        while pending.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    public func spent(key: String) -> Money? {
        accounts.withLock { $0[key].map { Money(nanoUnits: $0.spentNano, currency: $0.budget.currency) } }
    }

    private func rollOver(_ account: inout Account, now: Int64) {
        let start = account.budget.periodStart(now: now)
        if start != account.periodStart {
            account.periodStart = start
            account.spentNano = 0
            account.reservedNano = 0  // holds of the old period settle against it (see `settle`)
        }
    }
}
