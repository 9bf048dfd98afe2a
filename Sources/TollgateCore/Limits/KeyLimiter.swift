import NIOCore
import Synchronization

/// One key's requests per minute, tokens per minute and concurrent requests, enforced in memory
/// under the key's own lock. Tokens are known only after a request, so a request in flight
/// reserves an estimate of its prompt (body bytes / 4) and the reservation is swapped for the
/// upstream's reported usage when it ends (OpenAI's own limiter also counts a request's
/// estimate up front). Kept by key name across key reloads.
///
/// With several instances on one PostgreSQL the other instances' counts, as of the last limit
/// sync (`SharedLimitSync`), are added to this instance's own: admission reads memory only.
public final class KeyLimiter: Sendable {
    public let keyName: String
    private let state: Mutex<State>

    struct State: Sendable {
        var limits: KeyLimits
        var requests = SlidingWindow()
        var tokens = SlidingWindow()
        var reserved = 0
        var inFlight = 0
        /// The other instances' counts at the last sync; nil while this instance is alone.
        var others: OtherInstances?
        /// Counted here and not yet synced, by Unix minute.
        var pending: [Int64: Counts] = [:]
        /// Synced, by Unix minute (this one and the one before), to tell own counts from others'.
        var sent: [Int64: Counts] = [:]
    }

    struct Counts: Sendable, Equatable {
        var requests = 0
        var tokens = 0
    }

    /// Every other instance's use of the key, per Unix minute.
    struct OtherInstances: Sendable, Equatable {
        var minute: Int64
        var current = Counts()
        var previous = Counts()
        var inFlight = 0

        /// The one-minute sliding estimate at wall time `nowMillis` (as `SlidingWindow`, on
        /// Unix minutes every instance shares).
        func count(_ amount: KeyPath<Counts, Int>, nowMillis: Int64) -> Int {
            let left = 1 - Double(nowMillis % 60_000) / 60_000
            switch nowMillis / 60_000 {
            case minute: return current[keyPath: amount] + Int((Double(previous[keyPath: amount]) * left).rounded(.up))
            case minute + 1: return Int((Double(current[keyPath: amount]) * left).rounded(.up))
            default: return 0
            }
        }
    }

    /// The clock of the per-minute windows (`GatewayConfig.limiterClock`).
    let clock: LimiterClock

    public init(keyName: String, limits: KeyLimits, clock: @escaping LimiterClock = { .now() }) {
        self.keyName = keyName
        self.clock = clock
        state = Mutex(State(limits: limits))
    }

    public var limits: KeyLimits {
        get { state.withLock { $0.limits } }
        set { state.withLock { $0.limits = newValue } }
    }

    /// Admits a request, or says why not and when to come back.
    func admit(estimatedTokens: Int, now: NIODeadline? = nil) -> Result<KeyLease, GatewayError> {
        let now = now ?? clock()
        let estimate = max(1, estimatedTokens)
        let wall = unixMillis()
        return state.withLock { state -> Result<KeyLease, GatewayError> in
            let limits = state.limits
            let others = state.others
            if let limit = limits.concurrency, state.inFlight + (others?.inFlight ?? 0) >= limit {
                return .failure(.rateLimited("key '\(keyName)' has \(limit) requests in flight, its concurrency limit",
                                             retryAfter: .seconds(1)))
            }
            if let limit = limits.rpm, state.requests.count(now: now) + (others?.count(\.requests, nowMillis: wall) ?? 0) + 1 > limit {
                let wait = state.requests.wait(needed: 1, limit: limit, now: now)
                return .failure(.rateLimited("key '\(keyName)' reached its limit of \(limit) requests per minute", retryAfter: wait))
            }
            if let limit = limits.tpm {
                let used = state.tokens.count(now: now) + state.reserved + (others?.count(\.tokens, nowMillis: wall) ?? 0)
                if used >= limit {
                    let wait = state.tokens.wait(needed: max(1, state.reserved), limit: limit, now: now)
                    return .failure(.rateLimited("key '\(keyName)' reached its limit of \(limit) tokens per minute", retryAfter: wait))
                }
            }
            state.inFlight += 1
            state.requests.add(1, now: now)
            Self.count(&state, minute: wall / 60_000) { $0.requests += 1 }
            let reserved = limits.tpm == nil ? 0 : estimate
            state.reserved += reserved
            return .success(KeyLease(limiter: self, reserved: reserved))
        }
    }

    /// A request ended having used `tokens` (prompt and completion).
    func finish(reserved: Int, tokens: Int, now: NIODeadline? = nil) {
        let now = now ?? clock()
        let tokens = min(tokens, Self.maxTokensCounted)
        let minute = unixMillis() / 60_000
        state.withLock { state in
            state.inFlight = max(0, state.inFlight - 1)
            state.reserved = max(0, state.reserved - reserved)
            if tokens > 0 {
                state.tokens.add(tokens, now: now)
                Self.count(&state, minute: minute) { $0.tokens += tokens }
            }
        }
    }

    /// The most tokens one request counts for (2^40, a trillion): an upstream's count is its own
    /// word, and the windows' sums of counts near Int.max would overflow.
    static let maxTokensCounted = 1 << 40

    /// Adds to the unsynced counts; with no sync running (one instance) only the last two
    /// minutes are kept.
    private static func count(_ state: inout State, minute: Int64, _ add: (inout Counts) -> Void) {
        add(&state.pending[minute, default: Counts()])
        if state.pending.count > 2 { state.pending = state.pending.filter { $0.key >= minute - 1 } }
    }

    // MARK: Sharing with other instances

    /// Hands the unsynced counts to a sync (and marks them sent), with the requests in flight.
    func takePending() -> (counts: [Int64: Counts], inFlight: Int) {
        state.withLock { state in
            let taken = state.pending
            state.pending = [:]
            for (minute, counts) in taken {
                state.sent[minute, default: Counts()].requests += counts.requests
                state.sent[minute, default: Counts()].tokens += counts.tokens
            }
            return (taken, state.inFlight)
        }
    }

    /// A sync failed: its counts go back to be sent next time.
    func restore(_ counts: [Int64: Counts]) {
        state.withLock { state in
            for (minute, taken) in counts {
                state.pending[minute, default: Counts()].requests += taken.requests
                state.pending[minute, default: Counts()].tokens += taken.tokens
                state.sent[minute, default: Counts()].requests -= taken.requests
                state.sent[minute, default: Counts()].tokens -= taken.tokens
            }
        }
    }

    /// Every instance's totals as the shared store returned them: what is not this instance's
    /// own is the others' share.
    func applyShared(_ totals: SharedLimitTotals, minute: Int64) {
        state.withLock { state in
            state.sent = state.sent.filter { $0.key >= minute - 1 }
            let own = state.sent[minute] ?? Counts(), ownBefore = state.sent[minute - 1] ?? Counts()
            state.others = OtherInstances(
                minute: minute,
                current: Counts(requests: max(0, Int(totals.requests) - own.requests), tokens: max(0, Int(totals.tokens) - own.tokens)),
                previous: Counts(requests: max(0, Int(totals.previousRequests) - ownBefore.requests),
                                 tokens: max(0, Int(totals.previousTokens) - ownBefore.tokens)),
                inFlight: Int(totals.othersInFlight))
        }
    }

    /// Requests in flight and tokens counted this minute (for the admin view).
    func usage(now: NIODeadline? = nil) -> (inFlight: Int, requests: Int, tokens: Int) {
        let now = now ?? clock()
        return state.withLock { ($0.inFlight, $0.requests.count(now: now), $0.tokens.count(now: now) + $0.reserved) }
    }
}

/// One admitted request's hold on its key's limits; `finish` exactly once, when it ends.
final class KeyLease: Sendable {
    private let limiter: KeyLimiter
    private let reserved: Int
    private let done = Atomic<Bool>(false)

    init(limiter: KeyLimiter, reserved: Int) {
        self.limiter = limiter
        self.reserved = reserved
    }

    func finish(usage: TokenUsage) {
        guard !done.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let tokens = Int((usage.prompt ?? 0).addingSaturated(usage.completion ?? 0))
        limiter.finish(reserved: reserved, tokens: tokens)
    }
}

/// Where a key's limiter reads the time. Tests fix it, so a loaded machine cannot move a
/// request into the next minute's window.
public typealias LimiterClock = @Sendable () -> NIODeadline
