import Logging
import Synchronization

/// Keeps this instance in step with what other instances (or `tollgate` commands) change in the
/// shared storage: every `interval` it re-reads each budget's spend and applies admin-managed
/// objects (channels, templates, prices, rates) when they changed. Keys are refreshed by the key
/// registry on the same interval. Storage that announces changes (PostgreSQL's LISTEN/NOTIFY)
/// is also listened to, so a change applies at once; polling stays as the fallback for a missed
/// announcement. Off the hot path; a failed read is logged and retried.
final class SharedStateWatcher: Sendable {
    let storage: any Storage
    let runtime: GatewayRuntime
    let interval: Duration
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let lastObjects = Mutex<String?>(nil)
    private let objectsChanged = Mutex<(@Sendable () async throws -> Void)?>(nil)
    private let feed = Mutex<Task<Void, Never>?>(nil)
    private let announced = Mutex<(@Sendable (String?) async -> Void)?>(nil)
    /// Announcements handled (for tests and the log).
    let announcements = Atomic<Int>(0)

    init(storage: any Storage, runtime: GatewayRuntime, interval: Duration, logger: Logger) {
        self.storage = storage
        self.runtime = runtime
        self.interval = interval
        self.logger = logger
    }

    func onObjectsChanged(_ apply: @escaping @Sendable () async throws -> Void) { objectsChanged.withLock { $0 = apply } }

    /// Called with the table of each announced change, and with nil when the feed (re)starts
    /// (everything may have changed while it was down).
    func onAnnounced(_ apply: @escaping @Sendable (String?) async -> Void) { announced.withLock { $0 = apply } }

    func start() {
        startFeed()
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard !Task.isCancelled else { break }
                    await refresh()
                }
            }
        }
    }

    func stop() {
        task.withLock { $0?.cancel(); $0 = nil }
        feed.withLock { $0?.cancel(); $0 = nil }
    }

    /// Listens for announced changes; reconnects (after a second) when the feed breaks.
    private func startFeed() {
        guard storage.announcesChanges else { return }
        feed.withLock { feed in
            guard feed == nil else { return }
            feed = Task { [self] in
                while !Task.isCancelled {
                    do {
                        try await storage.watchChanges(listening: { await self.announce(nil) }, changed: { await self.announce($0) })
                    } catch {
                        if !Task.isCancelled { logger.warning("change feed from storage broke; reconnecting", metadata: ["error": "\(error)"]) }
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    private func announce(_ table: String?) async {
        guard let apply = announced.withLock({ $0 }) else { return }
        await apply(table)
        announcements.add(1, ordering: .relaxed)
    }

    func refresh() async {
        do {
            try await runtime.budgets.refresh(now: unixSeconds())
            let stamp = try await storage.objectsStamp()
            let moved = lastObjects.withLock { last -> Bool in
                defer { last = stamp }
                return last != stamp  // the first read applies too: applying is a no-op when nothing changed
            }
            if moved, let apply = objectsChanged.withLock({ $0 }) { try await apply() }
        } catch {
            logger.warning("cannot refresh shared state from storage; will retry", metadata: ["error": "\(error)"])
        }
    }
}
