import Foundation
import NIOCore
import Synchronization

/// Everything health knows about one channel: its breaker, balance and credentials, and the
/// state of each upstream model it served. One lock per channel, held for a few field updates,
/// so channels never contend with each other. Kept by name across route reloads.
public final class ChannelHealth: Sendable {
    public let name: String
    let settings: HealthSettings
    private let events: HealthEvents
    private let state: Mutex<State>
    /// Set once any model override exists, so the hot path skips the lock until then.
    private let hasOverrides = Atomic<Bool>(false)
    /// Plugin channels may hold credentials they refresh themselves (Vertex drops its OAuth token
    /// on a 401 and fetches another): their first auth failure may be stale, so it takes two in a
    /// row to open the breaker. A fixed key cannot mend itself: one opens it.
    private let refreshesCredentials = Atomic<Bool>(false)

    func setRefreshesCredentials(_ value: Bool) { refreshesCredentials.store(value, ordering: .relaxed) }

    struct State: Sendable {
        var breaker = CircuitBreaker()
        var balance = BalanceStatus.unknown
        var authFailed = false
        var lastError: String?
        var lastErrorAt: Int64?
        var models: [String: ModelHealth] = [:]
        /// Replacements a deprecation notice named: upstream model -> its successor.
        var modelOverrides: [String: String] = [:]
        var apiVersion: String?
        /// Successors a deprecation notice named that wait for an operator (key: the upstream
        /// model, "" for the API version).
        var proposals: [String: ChannelOverride] = [:]

        /// The model last admitted and its health: a request most often names the model the one
        /// before named, and comparing two names costs less than hashing one.
        var last: (model: String, health: ModelHealth)?

        /// `model`'s health, tracked from now on if it was not.
        mutating func tracked(_ model: String, settings: HealthSettings) -> ModelHealth {
            if let last, last.model == model { return last.health }
            let health: ModelHealth
            if let known = models[model] {
                health = known
            } else {
                health = ModelHealth(settings: settings)
                models[model] = health
            }
            last = (model, health)
            return health
        }

        /// `model`'s health if it is tracked.
        func known(_ model: String) -> ModelHealth? {
            if let last, last.model == model { return last.health }
            return models[model]
        }
    }

    static let maxTrackedModels = 4096

    init(name: String, settings: HealthSettings, events: HealthEvents) {
        self.name = name
        self.settings = settings
        self.events = events
        state = Mutex(State())
    }

    var hasOverridesFlag: Bool { hasOverrides.load(ordering: .acquiring) }
    func markOverrides() { hasOverrides.store(true, ordering: .releasing) }
    func withState<T>(_ body: (inout State) -> T) -> T { state.withLock { body(&$0) } }

    enum Admission: Sendable {
        case admitted(HealthLease)
        /// At its adaptive concurrency limit: may have room in a moment.
        case busy
        /// Out of service until `until` (nil: until a probe or trial succeeds).
        case refused(until: NIODeadline?, rateLimited: Bool, reason: String)
    }

    /// The routing weight factor (1...1000) of `model` now, or nil when it cannot take a request.
    func score(model: String, now: NIODeadline) -> Int? {
        state.withLock { state in
            guard state.breaker.wouldAdmit(now: now) else { return nil }
            guard let health = state.known(model) else { return 1000 }
            guard health.usable(now: now), health.breaker.wouldAdmit(now: now), health.adaptive.hasRoom(now: now) else { return nil }
            return health.score(now: now)
        }
    }

    /// Claims what a request needs: breaker passage (or the one Half-Open trial) and a slot of
    /// the adaptive limit.
    func admit(model: String, embeddings: Bool, now: NIODeadline) -> Admission {
        state.withLock { state -> Admission in
            // A wildcard channel sees whatever names clients send: past this many, new names are
            // served untracked (the channel's own breaker still applies).
            guard state.models.count < Self.maxTrackedModels || state.models.index(forKey: model) != nil else {
                guard state.breaker.isClosed else {
                    return .refused(until: nil, rateLimited: false, reason: "circuit open: \(state.lastError ?? "failures")")
                }
                return .admitted(HealthLease(health: self, model: model, tracked: nil, channelTrial: false, modelTrial: false, slot: false))
            }
            let health = state.tracked(model, settings: settings)
            health.probeEmbeddings = embeddings
            if !health.usable(now: now) {
                return .refused(until: health.retryAt, rateLimited: true, reason: "rate limited: \(health.lastError ?? "HTTP 429")")
            }
            guard health.adaptive.hasRoom(now: now) else { return .busy }
            guard state.breaker.wouldAdmit(now: now), health.breaker.wouldAdmit(now: now) else {
                let until = [state.breaker, health.breaker].compactMap { b -> NIODeadline? in
                    if case .open(let until) = b.state { until } else { nil }
                }.max()
                return .refused(until: until, rateLimited: false,
                                reason: "circuit open: \(health.lastError ?? state.lastError ?? "failures")")
            }
            let channelTrial = state.breaker.admit(now: now) == .trial
            let modelTrial = health.breaker.admit(now: now) == .trial
            _ = health.adaptive.acquire(now: now)
            return .admitted(HealthLease(health: self, model: model, tracked: health, channelTrial: channelTrial, modelTrial: modelTrial, slot: true))
        }
    }

    /// A lease for a probe: it takes a breaker's trial when one is due, never an adaptive slot;
    /// nil while a breaker is still open (or its trial is out).
    func probeLease(model: String, now: NIODeadline) -> HealthLease? {
        state.withLock { state -> HealthLease? in
            let health = state.tracked(model, settings: settings)
            guard state.breaker.wouldAdmit(now: now), health.breaker.wouldAdmit(now: now) else { return nil }
            let channelTrial = state.breaker.admit(now: now) == .trial
            let modelTrial = health.breaker.admit(now: now) == .trial
            return HealthLease(health: self, model: model, tracked: health, channelTrial: channelTrial, modelTrial: modelTrial, slot: false)
        }
    }

    /// (upstream model, probe with embeddings) of every model that is not Available, or all
    /// models when the channel itself is hurt.
    /// A model still inside its rate-limit wait is left alone (a probe would only be refused).
    func modelsToProbe(now: NIODeadline) -> [(model: String, embeddings: Bool)] {
        state.withLock { state in
            let channelHurt = state.authFailed || state.balance == .exhausted || !state.breaker.isClosed
            let hurt = state.models.filter { entry in
                entry.value.usable(now: now) && (channelHurt || entry.value.status != .available || !entry.value.breaker.isClosed)
            }
            return hurt.map { ($0.key, $0.value.probeEmbeddings) }.sorted { $0.model < $1.model }
        }
    }

    /// Gives back what a lease holds that no answer resolved. `tracked`: the model's health the
    /// lease found (models are never dropped, so it is the table's), else it is looked up.
    func release(model: String, tracked: ModelHealth? = nil, channelTrial: Bool, modelTrial: Bool, slot: Bool) {
        state.withLock { state in
            if channelTrial { state.breaker.release() }
            guard modelTrial || slot, let health = tracked ?? state.models[model] else { return }
            if modelTrial { health.breaker.release() }
            if slot { health.adaptive.release() }
        }
    }

    /// Applies an attempt's outcome; sends the notifications it calls for (outside the lock).
    /// `tracked` as for `release`.
    func record(model: String, tracked: ModelHealth? = nil, outcome: AttemptOutcome, channelTrial: Bool, modelTrial: Bool, now: NIODeadline) {
        let notices = state.withLock { state -> [NotificationEvent] in
            let tracked = tracked ?? state.models[model]
            let health = tracked ?? ModelHealth(settings: settings)
            var notices: [NotificationEvent] = []
            let threshold = settings.breakerFailures
            lazy var cooldown = TimeAmount(settings.breakerCooldown)  // failures only: a Duration's components are costly
            func fail(_ message: String) {
                let wall = Int64(Date().timeIntervalSince1970 * 1000)
                health.lastError = message
                health.lastErrorAt = wall
                state.lastError = message
                state.lastErrorAt = wall
            }
            func opened(_ scope: String, _ reason: String) {
                notices.append(NotificationEvent(type: "channel_error", priority: .high, title: "Channel \(name) is out of service",
                                                 message: "circuit breaker of \(scope) opened: \(reason)",
                                                 metadata: ["channel": name, "model": model, "scope": scope]))
            }
            switch outcome {
            case .success(let latency, let limits):
                health.status = .available
                health.retryAt = nil
                health.breaker.success()
                state.breaker.success()
                state.authFailed = false
                if state.balance == .exhausted || state.balance == .unknown { state.balance = .ok }
                health.adaptive.success(now: now)
                if let ceiling = limits.requestLimit { health.adaptive.learn(requestLimit: ceiling) }
                if !limits.isEmpty { health.limits = limits }
                health.observe(success: true)
                health.observe(latency: latency)
            case .requestError:
                if modelTrial { health.breaker.success() }
                if channelTrial { state.breaker.success() }
            case .rateLimited(let limits, let error):
                health.status = .rateLimited
                health.retryAt = now + TimeAmount(limits.wait ?? settings.retryAfterDefault)
                health.limits = limits
                health.adaptive.rateLimited(now: now)
                if let ceiling = limits.requestLimit { health.adaptive.learn(requestLimit: ceiling) }
                if modelTrial { health.breaker.success() }
                if channelTrial { state.breaker.success() }
                health.observe(success: false)
                fail("HTTP 429: \(error.message)")
            case .authFailed(let error):
                state.authFailed = true
                let immediate = !refreshesCredentials.load(ordering: .relaxed)
                if state.breaker.failure(now: now, threshold: immediate ? 1 : 2, cooldown: cooldown, immediate: immediate) {
                    opened("the channel", "authentication failed")
                }
                if modelTrial { health.breaker.release() }
                fail("authentication failed: \(error.message)")
                notices.append(NotificationEvent(type: "auth_failed", priority: .critical, title: "Channel \(name): credentials refused",
                                                 message: error.message, metadata: ["channel": name, "model": model]))
            case .quotaExhausted(let error):
                state.balance = .exhausted
                health.status = .quotaExhausted
                if state.breaker.failure(now: now, threshold: threshold, cooldown: cooldown, immediate: true) {
                    opened("the channel", "balance exhausted")
                }
                if modelTrial { health.breaker.release() }
                fail("quota exhausted: \(error.message)")
                notices.append(NotificationEvent(type: "balance_exhausted", priority: .critical, title: "Channel \(name): out of credit",
                                                 message: error.message, metadata: ["channel": name, "model": model]))
            case .deprecated(let notice, let error) where notice.replacement.map({ if case .apiVersion = $0 { true } else { false } }) == true:
                // The channel switches API version; the model itself is fine.
                health.deprecation = notice.message
                if modelTrial { health.breaker.release() }
                if channelTrial { state.breaker.success() }
                fail("deprecated: \(error.message)")
            case .modelNotFound(let error), .deprecated(_, let error):
                health.status = .modelNotFound
                if case .deprecated(let notice, _) = outcome { health.deprecation = notice.message }
                health.breaker.failure(now: now, threshold: threshold, cooldown: cooldown, immediate: true)
                if channelTrial { state.breaker.success() }
                health.observe(success: false)
                fail("model not found: \(error.message)")
            case .serverError, .timeout, .streamBroken:
                health.status = .temporarilyDown
                if health.breaker.failure(now: now, threshold: threshold, cooldown: cooldown) {
                    opened("model \(model)", outcome.summary)
                }
                if channelTrial { state.breaker.success() }
                health.observe(success: false)
                fail(outcome.summary)
            case .unreachable(let message):
                health.status = .temporarilyDown
                if state.breaker.failure(now: now, threshold: threshold, cooldown: cooldown) { opened("the channel", message) }
                if modelTrial { health.breaker.release() }
                health.observe(success: false)
                fail(message)
            }
            if tracked == nil && state.models.count < Self.maxTrackedModels { state.models[model] = health }
            return notices
        }
        for notice in notices { events.notify(notice) }
        if case .deprecated(let notice, _) = outcome { events.deprecated(self, model, notice) }
    }
}
