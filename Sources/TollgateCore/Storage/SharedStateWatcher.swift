import Logging
import Synchronization

/// Keeps this instance in step with what other instances (or `tollgate` commands) change in the
/// shared storage: every `interval` it re-reads the stored keys (swapping the key snapshot when
/// they changed), each budget's spend, and whether admin-managed objects changed. Off the hot path; a failed read is logged and retried.
final class SharedStateWatcher: Sendable {
    let storage: any Storage
    let runtime: GatewayRuntime
    let configKeys: [ClientKey]
    let interval: Duration
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let lastKeys = Mutex<[StoredKey]?>(nil)
    private let lastObjects = Mutex<String?>(nil)
    /// Applies admin-managed objects (channels, templates, prices, rates) after another instance changed them.
    private let objectsChanged = Mutex<(@Sendable () async throws -> Void)?>(nil)

    func onObjectsChanged(_ apply: @escaping @Sendable () async throws -> Void) { objectsChanged.withLock { $0 = apply } }

    init(storage: any Storage, runtime: GatewayRuntime, configKeys: [ClientKey], interval: Duration, logger: Logger) {
        self.storage = storage
        self.runtime = runtime
        self.configKeys = configKeys
        self.interval = interval
        self.logger = logger
    }

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
            let stored = try await storage.keys()
            let changed = lastKeys.withLock { last -> Bool in
                defer { last = stored }
                return last.map { $0 != stored } ?? true  // the first read swaps too: keys may have changed since start
            }
            if changed {
                runtime.replaceKeys(KeyStore(configKeys + stored.compactMap(\.clientKey)))
                logger.info("keys reloaded from storage", metadata: ["stored": "\(stored.count)"])
            }
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
