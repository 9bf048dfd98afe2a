import Foundation
import Logging
import Synchronization

/// Shares rate limits among instances on one PostgreSQL, as Kong's `cluster` policy does: each
/// instance counts in memory and, every `limits.sync_interval` (250 ms), adds what it counted to
/// the shared per-minute windows and reads every instance's totals back; admission then weighs
/// the others' share from the last sync with its own exact counts, so the request path never
/// waits on the database. Each instance may admit at most one interval's worth of requests
/// past a limit. With SQLite (one instance) the first sync finds nothing to share and stops;
/// limits stay exact in memory.
final class SharedLimitSync: Sendable {
    let storage: any Storage
    let runtime: GatewayRuntime
    let interval: Duration
    let logger: Logger
    /// This process, in the shared in-flight counts.
    let instance = UUID().uuidString
    /// Syncs completed (tests wait for them; `/metrics` shows them).
    let syncs = Atomic<Int>(0)
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(storage: any Storage, runtime: GatewayRuntime, interval: Duration, logger: Logger) {
        self.storage = storage
        self.runtime = runtime
        self.interval = interval
        self.logger = logger
    }

    func start() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                while !Task.isCancelled, await sync() {
                    try? await Task.sleep(for: interval)
                }
            }
        }
    }

    func stop() { task.withLock { $0?.cancel(); $0 = nil } }

    /// One round; false when the storage has nothing to share (one instance).
    func sync() async -> Bool {
        let limiters = runtime.snapshot.keys.limiters
        guard !limiters.isEmpty else { return true }  // no key has limits: nothing to share yet
        let now = unixMillis()
        let minute = now / 60_000
        var report = SharedLimitReport(instance: instance, minute: minute, at: now, deltas: [], inFlight: [:])
        var taken: [String: [Int64: KeyLimiter.Counts]] = [:]
        for (name, limiter) in limiters {
            let (counts, inFlight) = limiter.takePending()
            taken[name] = counts
            report.inFlight[name] = Int64(inFlight)
            for (at, count) in counts where count != KeyLimiter.Counts() {
                report.deltas.append(.init(key: name, minute: at, requests: Int64(count.requests), tokens: Int64(count.tokens)))
            }
        }
        do {
            guard let totals = try await storage.syncLimits(report) else {
                restore(taken, limiters)
                return false
            }
            for (name, limiter) in limiters { limiter.applyShared(totals[name] ?? SharedLimitTotals(), minute: minute) }
            syncs.add(1, ordering: .relaxed)
        } catch {
            restore(taken, limiters)
            logger.warning("cannot sync rate limits with other instances; each counts alone until it can", metadata: ["error": "\(error)"])
        }
        return true
    }

    private func restore(_ taken: [String: [Int64: KeyLimiter.Counts]], _ limiters: [String: KeyLimiter]) {
        for (name, counts) in taken { limiters[name]?.restore(counts) }
    }
}
