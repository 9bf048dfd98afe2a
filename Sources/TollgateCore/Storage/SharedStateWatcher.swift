import Logging
import Synchronization

/// Keeps this instance in step with what other instances (or `tollgate` commands) change in the
/// shared storage: every `interval` it re-reads each budget's spend and applies admin-managed
/// objects (channels, templates, prices, rates) when they changed. Keys are refreshed by the key
/// registry on the same interval. Off the hot path; a failed read is logged and retried.
final class SharedStateWatcher: Sendable {
    let storage: any Storage
    let runtime: GatewayRuntime
    let interval: Duration
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let lastObjects = Mutex<String?>(nil)
    private let objectsChanged = Mutex<(@Sendable () async throws -> Void)?>(nil)

    init(storage: any Storage, runtime: GatewayRuntime, interval: Duration, logger: Logger) {
        self.storage = storage
        self.runtime = runtime
        self.interval = interval
        self.logger = logger
    }

    func onObjectsChanged(_ apply: @escaping @Sendable () async throws -> Void) { objectsChanged.withLock { $0 = apply } }

    func start() {
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

    func stop() { task.withLock { $0?.cancel(); $0 = nil } }

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
