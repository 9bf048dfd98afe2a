import NIOCore
import Synchronization

/// One key's requests per minute, tokens per minute and concurrent requests, enforced in memory
/// under the key's own lock. Tokens are known only after a request, so a request in flight
/// reserves an estimate of its prompt (body bytes / 4) and the reservation is swapped for the
/// upstream's reported usage when it ends (OpenAI's own limiter also counts a request's
/// estimate up front). Kept by key name across key reloads.
public final class KeyLimiter: Sendable {
    public let keyName: String
    private let state: Mutex<State>

    struct State: Sendable {
        var limits: KeyLimits
        var requests = SlidingWindow()
        var tokens = SlidingWindow()
        var reserved = 0
        var inFlight = 0
    }

    public init(keyName: String, limits: KeyLimits) {
        self.keyName = keyName
        state = Mutex(State(limits: limits))
    }

    public var limits: KeyLimits {
        get { state.withLock { $0.limits } }
        set { state.withLock { $0.limits = newValue } }
    }

    /// Admits a request, or says why not and when to come back.
    func admit(estimatedTokens: Int, now: NIODeadline = .now()) -> Result<KeyLease, GatewayError> {
        let estimate = max(1, estimatedTokens)
        return state.withLock { state -> Result<KeyLease, GatewayError> in
            let limits = state.limits
            if let limit = limits.concurrency, state.inFlight >= limit {
                return .failure(.rateLimited("key '\(keyName)' has \(limit) requests in flight, its concurrency limit",
                                             retryAfter: .seconds(1)))
            }
            if let limit = limits.rpm, state.requests.count(now: now) + 1 > limit {
                let wait = state.requests.wait(needed: 1, limit: limit, now: now)
                return .failure(.rateLimited("key '\(keyName)' reached its limit of \(limit) requests per minute", retryAfter: wait))
            }
            if let limit = limits.tpm {
                let used = state.tokens.count(now: now) + state.reserved
                if used >= limit {
                    let wait = state.tokens.wait(needed: max(1, state.reserved), limit: limit, now: now)
                    return .failure(.rateLimited("key '\(keyName)' reached its limit of \(limit) tokens per minute", retryAfter: wait))
                }
            }
            state.inFlight += 1
            state.requests.add(1, now: now)
            let reserved = limits.tpm == nil ? 0 : estimate
            state.reserved += reserved
            return .success(KeyLease(limiter: self, reserved: reserved))
        }
    }

    /// A request ended having used `tokens` (prompt and completion).
    func finish(reserved: Int, tokens: Int, now: NIODeadline = .now()) {
        state.withLock { state in
            state.inFlight = max(0, state.inFlight - 1)
            state.reserved = max(0, state.reserved - reserved)
            if tokens > 0 { state.tokens.add(tokens, now: now) }
        }
    }

    /// Requests in flight and tokens counted this minute (for the admin view).
    func usage(now: NIODeadline = .now()) -> (inFlight: Int, requests: Int, tokens: Int) {
        state.withLock { ($0.inFlight, $0.requests.count(now: now), $0.tokens.count(now: now) + $0.reserved) }
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
        let tokens = Int((usage.prompt ?? 0) + (usage.completion ?? 0))
        limiter.finish(reserved: reserved, tokens: tokens)
    }
}
