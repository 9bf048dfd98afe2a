import NIOCore

/// The state of one (channel, upstream model). A class changed in place: a request finds it with
/// one lookup and copies nothing (a struct was taken out of the table and put back, hashing the
/// name twice more, or copied, retaining each of its references). Only ever read or written
/// under its channel's lock, which is what makes it safe to share.
final class ModelHealth: @unchecked Sendable {
    var status = ModelStatus.available
    /// Rate limited until then (the upstream's advice, else the default).
    var retryAt: NIODeadline?
    var breaker = CircuitBreaker()
    var adaptive: AdaptiveLimit
    /// EMA (alpha 0.2) of 1 per success, 0 per failure.
    var successRate = 1.0
    /// EMA (alpha 0.2) of the time to the response head, milliseconds.
    var latencyMillis: Double?
    /// The last answers' times to the response head, for the median the health view shows.
    var recentLatencies = LatencyWindow()
    var lastError: String?
    var lastErrorAt: Int64?
    var limits: RateLimitInfo?
    var requests = 0
    var failures = 0
    /// Which operation to probe it with (the last one served).
    var probeEmbeddings = false
    var deprecation: String?

    init(settings: HealthSettings) { adaptive = AdaptiveLimit(settings: settings) }

    static let alpha = 0.2

    func observe(success: Bool) {
        requests += 1
        if !success { failures += 1 }
        successRate += Self.alpha * ((success ? 1 : 0) - successRate)
    }

    func observe(latency: Duration) {
        let (seconds, attoseconds) = latency.components  // once: each read divides 128 bits
        let millis = Double(seconds) * 1000 + Double(attoseconds) / 1e15
        latencyMillis = latencyMillis.map { $0 + Self.alpha * (millis - $0) } ?? millis
        recentLatencies.add(millis)
    }

    /// 1...1000: status, success rate and latency; scales the channel's weight.
    func score(now: NIODeadline) -> Int {
        let statusFactor: Double
        switch status {
        case .available: statusFactor = 1
        case .rateLimited: statusFactor = (retryAt.map { now >= $0 } ?? true) ? 0.6 : 0.05
        case .temporarilyDown: statusFactor = 0.3
        case .quotaExhausted, .modelNotFound: statusFactor = 0.1
        }
        // Success counts for half, so a recovering model still gets traffic to prove itself.
        let rateFactor = 0.5 + 0.5 * successRate
        let latencyFactor = 1 / (1 + (latencyMillis ?? 0) / 10_000)
        return max(1, Int(1000 * statusFactor * rateFactor * latencyFactor))
    }

    /// Whether routing may use it now (breakers aside).
    func usable(now: NIODeadline) -> Bool {
        guard status == .rateLimited, let retryAt else { return true }
        return now >= retryAt
    }
}

/// The last `capacity` latencies in a ring (allocated once, on the first sample); the median is
/// worked out only when someone looks.
struct LatencyWindow: Sendable {
    static let capacity = 64
    private var samples: [Double] = []
    private var next = 0

    mutating func add(_ millis: Double) {
        if samples.count < Self.capacity {
            if samples.isEmpty { samples.reserveCapacity(Self.capacity) }
            samples.append(millis)
        } else {
            samples[next] = millis
        }
        next = (next + 1) % Self.capacity
    }

    /// The median of the samples held, nil before the first.
    var median: Double? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
