import NIOCore
import Testing
@testable import TollgateCore

/// The state machines on their own: circuit breaker, adaptive limit, sliding window, key limiter.
@Suite struct BreakerAndLimitTests {
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func breakerOpensAfterConsecutiveFailuresAndAdmitsOneTrial() {
        var breaker = CircuitBreaker()
        for _ in 0..<4 { let result = breaker.failure(now: Self.t0, threshold: 5, cooldown: .seconds(30)); #expect(!result) }
        breaker.success()  // a success resets the count
        for _ in 0..<4 { breaker.failure(now: Self.t0, threshold: 5, cooldown: .seconds(30)) }
        #expect(breaker.isClosed && breaker.consecutiveFailures == 4)
        do { let result = breaker.failure(now: Self.t0, threshold: 5, cooldown: .seconds(30)); #expect(result) }
        do { let result = breaker.admit(now: Self.t0 + .seconds(29)); #expect(result == .refused(until: Self.t0 + .seconds(30))) }
        // Half-Open: exactly one trial.
        do { let result = breaker.admit(now: Self.t0 + .seconds(30)); #expect(result == .trial) }
        do { let result = breaker.admit(now: Self.t0 + .seconds(30)); #expect(result == .refused(until: nil)) }
        // The trial failed: open again for a full cooldown.
        breaker.failure(now: Self.t0 + .seconds(31), threshold: 5, cooldown: .seconds(30))
        #expect(breaker.state == .open(until: Self.t0 + .seconds(61)))
        do { let result = breaker.admit(now: Self.t0 + .seconds(61)); #expect(result == .trial) }
        breaker.success()
        do { let result = breaker.admit(now: Self.t0 + .seconds(61)); #expect(result == .pass) }
        #expect(breaker.opened == 2)
    }

    @Test func authFailuresOpenAtOnceAndAnUnansweredTrialIsGivenBack() {
        var breaker = CircuitBreaker()
        do { let result = breaker.failure(now: Self.t0, threshold: 5, cooldown: .seconds(30), immediate: true); #expect(result) }
        do { let result = breaker.admit(now: Self.t0 + .seconds(30)); #expect(result == .trial) }
        breaker.release()
        do { let result = breaker.admit(now: Self.t0 + .seconds(30)); #expect(result == .trial) }
    }

    @Test func adaptiveLimitLearnsBacksOffCoolsDownAndRelearns() {
        var settings = HealthSettings()
        settings.adaptiveCooldown = .seconds(30)
        var limit = AdaptiveLimit(settings: settings)
        #expect(limit.limit == 10 && limit.phase == .learning)
        for _ in 0..<10 { let result = limit.acquire(now: Self.t0); #expect(result) }
        do { let result = limit.acquire(now: Self.t0); #expect(!result) }  // the 11th waits
        for _ in 0..<10 { limit.release() }
        for _ in 0..<5 { limit.success(now: Self.t0) }
        #expect(limit.limit == 15)
        for _ in 0..<10 { limit.success(now: Self.t0) }
        #expect(limit.limit == 25)
        limit.rateLimited(now: Self.t0)
        #expect(limit.limit == 20 && limit.phase == .stable)
        for _ in 0..<5 { limit.success(now: Self.t0) }
        #expect(limit.limit == 20)  // Stable grows only after ten times as many
        limit.rateLimited(now: Self.t0)
        limit.rateLimited(now: Self.t0)
        #expect(limit.phase == .cooldown && limit.limit == 12)
        limit.success(now: Self.t0 + .seconds(29))
        #expect(limit.phase == .cooldown)
        do { let result = limit.acquire(now: Self.t0 + .seconds(30)); #expect(result) }
        #expect(limit.phase == .learning && limit.limit == 6)
    }

    @Test func adaptiveLimitNeverPassesTheUpstreamsCeiling() {
        var limit = AdaptiveLimit(settings: HealthSettings())
        limit.learn(requestLimit: 12)
        for _ in 0..<50 { limit.success(now: Self.t0) }
        #expect(limit.limit == 12 && limit.ceiling == 12)
    }

    @Test func slidingWindowCountsAMinuteAndDecays() {
        var window = SlidingWindow()
        window.add(60, now: Self.t0)
        #expect(window.count(now: Self.t0 + .seconds(59)) == 60)
        #expect(window.count(now: Self.t0 + .seconds(90)) == 30)  // half the last minute still counts
        #expect(window.count(now: Self.t0 + .seconds(200)) == 0)
    }

    @Test func keyLimiterHoldsUnderAConcurrentBurst() async {
        let limiter = KeyLimiter(keyName: "k", limits: KeyLimits(rpm: 25, concurrency: 1000))
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 { group.addTask { if case .success = limiter.admit(estimatedTokens: 1) { true } else { false } } }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 25)
        guard case .failure(let error) = limiter.admit(estimatedTokens: 1) else { Issue.record("admitted past the rpm"); return }
        #expect(error.status == 429 && error.headers.first?.0 == "retry-after")
        #expect(Int(error.headers.first?.1 ?? "") ?? 0 >= 1)
    }

    @Test func keyLimiterConcurrencyAndTokens() {
        let limiter = KeyLimiter(keyName: "k", limits: KeyLimits(tpm: 100, concurrency: 2))
        guard case .success(let a) = limiter.admit(estimatedTokens: 30), case .success(let b) = limiter.admit(estimatedTokens: 30) else {
            Issue.record("not admitted"); return
        }
        guard case .failure(let busy) = limiter.admit(estimatedTokens: 1) else { Issue.record("third admitted"); return }
        #expect(busy.message.contains("concurrency"))
        a.finish(usage: TokenUsage(prompt: 40, completion: 30))
        a.finish(usage: TokenUsage(prompt: 40, completion: 30))  // twice counts once
        b.finish(usage: TokenUsage(prompt: 20, completion: 20))
        #expect(limiter.usage().tokens == 110 && limiter.usage().inFlight == 0)
        guard case .failure(let tokens) = limiter.admit(estimatedTokens: 1) else { Issue.record("admitted past the tpm"); return }
        #expect(tokens.message.contains("tokens per minute"))
    }
}

/// Auth failures: a fixed key opens the channel at once; a plugin that refreshes its own
/// credentials (Vertex's OAuth token) gets one more try.
@Suite struct AuthFailureTests {
    static let refused = AttemptOutcome.authFailed(UpstreamErrorInfo(message: "bad key", scope: .account))

    @Test func aFixedKeyOpensAtOnceARefreshingPluginAfterTwo() {
        let fixed = ChannelHealth(name: "fixed", settings: HealthSettings(), events: HealthEvents())
        fixed.record(model: "m", outcome: Self.refused, channelTrial: false, modelTrial: false, now: .now())
        #expect(fixed.score(model: "m", now: .now()) == nil)

        let plugin = ChannelHealth(name: "plugin", settings: HealthSettings(), events: HealthEvents())
        plugin.setRefreshesCredentials(true)
        plugin.record(model: "m", outcome: Self.refused, channelTrial: false, modelTrial: false, now: .now())
        #expect(plugin.score(model: "m", now: .now()) != nil)
        plugin.record(model: "m", outcome: Self.refused, channelTrial: false, modelTrial: false, now: .now())
        #expect(plugin.score(model: "m", now: .now()) == nil)
    }
}

/// A wildcard channel tracks at most `maxTrackedModels` model names; more are served untracked.
@Suite struct HealthMemoryTests {
    @Test func modelNamesBeyondTheCapAreServedUntracked() {
        let health = ChannelHealth(name: "wild", settings: HealthSettings(), events: HealthEvents())
        for index in 0..<ChannelHealth.maxTrackedModels {
            guard case .admitted(let lease) = health.admit(model: "m\(index)", embeddings: false, now: .now()) else {
                Issue.record("refused m\(index)"); return
            }
            lease.end()
        }
        guard case .admitted(let extra) = health.admit(model: "one-more", embeddings: false, now: .now()) else {
            Issue.record("refused past the cap"); return
        }
        extra.report(.serverError(status: 500, UpstreamErrorInfo(message: "x", scope: .unknown)))
        extra.end()
        #expect(health.withState { $0.models.count } == ChannelHealth.maxTrackedModels)
        #expect(health.withState { $0.lastError } == "HTTP 500: x")
    }
}
