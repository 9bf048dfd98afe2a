/// Timings and thresholds of health tracking (config section `health:`), defaults from SPEC.md.
public struct HealthSettings: Sendable {
    /// Consecutive failures that open a breaker.
    public var breakerFailures = 5
    /// How long an open breaker stays open before letting one trial through.
    public var breakerCooldown: Duration = .seconds(30)
    /// How often channels and models that are not Available are probed.
    public var probeInterval: Duration = .seconds(30)
    /// How long a 429 keeps a model away when the upstream gives no retry advice.
    public var retryAfterDefault: Duration = .seconds(60)
    /// Adaptive concurrency per (channel, model): start, step, successes per step, ceiling.
    public var adaptiveStart = 10
    public var adaptiveStep = 5
    public var adaptiveSuccesses = 5
    public var adaptiveMax = 1000
    /// Cooldown after 2 rate-limit errors in a row.
    public var adaptiveCooldown: Duration = .seconds(30)
    /// How long a request waits for a slot when every channel is at its adaptive limit.
    public var queueWait: Duration = .seconds(2)
    /// Probes are off when false (tests that count upstream requests exactly).
    public var probes = true
    /// Apply a successor a deprecation notice names (one the channel lists or the price book
    /// knows) at once; off: it is only proposed, for an operator to accept.
    public var autoSwitch = false

    public init() {}
}

/// Failover (config section `routing:`).
public struct RoutingSettings: Sendable {
    /// Further channels tried after a failed attempt, before anything reached the client.
    public var retries = 2
    public init() {}
}
