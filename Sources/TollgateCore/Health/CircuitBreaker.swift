import NIOCore

/// Closed -> Open after `threshold` consecutive failures (or at once for auth and payment
/// failures) -> Half-Open once the cooldown has passed, admitting exactly one trial whose result
/// closes or re-opens it. A value type: its owner's lock guards it.
struct CircuitBreaker: Sendable {
    enum State: Sendable, Equatable {
        case closed(failures: Int)
        case open(until: NIODeadline)
        /// `trialOut`: the one trial request is on its way.
        case halfOpen(trialOut: Bool)

        var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    private(set) var state = State.closed(failures: 0)
    /// How many times it opened (for the health view).
    private(set) var opened = 0

    /// May a request go through now? In Half-Open this claims the one trial: the caller must
    /// report its result (`success`, `failure`) or give it back (`release`).
    mutating func admit(now: NIODeadline) -> Admission {
        switch state {
        case .closed: return .pass
        case .open(let until):
            guard now >= until else { return .refused(until: until) }
            state = .halfOpen(trialOut: true)
            return .trial
        case .halfOpen(let out):
            if out { return .refused(until: nil) }
            state = .halfOpen(trialOut: true)
            return .trial
        }
    }

    /// Would `admit` let something through (without claiming)?
    func wouldAdmit(now: NIODeadline) -> Bool {
        switch state {
        case .closed: true
        case .open(let until): now >= until
        case .halfOpen(let out): !out
        }
    }

    enum Admission: Sendable, Equatable {
        case pass, trial
        case refused(until: NIODeadline?)
    }

    mutating func success() { state = .closed(failures: 0) }

    /// Returns true when this failure opened the breaker.
    @discardableResult
    mutating func failure(now: NIODeadline, threshold: Int, cooldown: TimeAmount, immediate: Bool = false) -> Bool {
        switch state {
        case .closed(let failures):
            if immediate || failures + 1 >= threshold { return open(now: now, cooldown: cooldown) }
            state = .closed(failures: failures + 1)
            return false
        case .halfOpen:
            return open(now: now, cooldown: cooldown)
        case .open:
            if immediate { state = .open(until: now + cooldown) }
            return false
        }
    }

    /// A trial that never got an answer (the client left first): the next one may go.
    mutating func release() {
        if case .halfOpen(true) = state { state = .halfOpen(trialOut: false) }
    }

    private mutating func open(now: NIODeadline, cooldown: TimeAmount) -> Bool {
        state = .open(until: now + cooldown)
        opened += 1
        return true
    }

    var isClosed: Bool { if case .closed = state { true } else { false } }
    var consecutiveFailures: Int { if case .closed(let n) = state { n } else { 0 } }
}
