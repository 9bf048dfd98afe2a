import NIOCore

/// The concurrency an upstream (channel, model) is trusted with, learned from its answers:
/// Learning (start at 10, +5 after 5 successes in a row, up to the ceiling the rate-limit
/// headers reveal, else 1000) -> Stable (a 429 cut it by a fifth; it grows again only after ten
/// times as many successes) -> Cooldown (2 rate-limit errors in a row: 30 s frozen, then back to
/// Learning at half the limit). A value type guarded by its channel's lock.
struct AdaptiveLimit: Sendable {
    enum Phase: String, Sendable { case learning = "Learning", stable = "Stable", cooldown = "Cooldown" }

    private(set) var phase = Phase.learning
    private(set) var limit: Int
    private(set) var inFlight = 0
    /// The upstream's own ceiling, from `x-ratelimit-limit-requests` and the like.
    private(set) var ceiling: Int
    private var successes = 0
    private var rateLimits = 0
    private(set) var cooldownUntil: NIODeadline?
    let settings: HealthSettings

    init(settings: HealthSettings) {
        self.settings = settings
        limit = max(1, settings.adaptiveStart)
        ceiling = max(1, settings.adaptiveMax)
    }

    /// Takes a slot when one is free.
    mutating func acquire(now: NIODeadline) -> Bool {
        leaveCooldownIfDue(now: now)
        guard inFlight < limit else { return false }
        inFlight += 1
        return true
    }

    func hasRoom(now: NIODeadline) -> Bool {
        if phase == .cooldown, let until = cooldownUntil, now >= until { return true }
        return inFlight < limit
    }

    mutating func release() { inFlight = max(0, inFlight - 1) }

    mutating func success(now: NIODeadline) {
        leaveCooldownIfDue(now: now)
        rateLimits = 0
        guard phase != .cooldown else { return }
        successes += 1
        let needed = phase == .learning ? settings.adaptiveSuccesses : settings.adaptiveSuccesses * 10
        guard successes >= needed else { return }
        successes = 0
        limit = min(limit + settings.adaptiveStep, ceiling)
    }

    mutating func rateLimited(now: NIODeadline) {
        successes = 0
        rateLimits += 1
        limit = max(1, limit * 4 / 5)
        if rateLimits >= 2 {
            if phase != .cooldown { cooldownUntil = now + TimeAmount(settings.adaptiveCooldown) }
            phase = .cooldown
        } else if phase == .learning {
            phase = .stable
        }
    }

    /// The upstream told its request ceiling: never go past it.
    mutating func learn(requestLimit: Int) {
        guard requestLimit > 0 else { return }
        ceiling = min(requestLimit, max(1, settings.adaptiveMax))
        limit = min(limit, ceiling)
    }

    private mutating func leaveCooldownIfDue(now: NIODeadline) {
        guard phase == .cooldown, let until = cooldownUntil, now >= until else { return }
        phase = .learning
        cooldownUntil = nil
        rateLimits = 0
        successes = 0
        limit = max(1, limit / 2)
    }
}
