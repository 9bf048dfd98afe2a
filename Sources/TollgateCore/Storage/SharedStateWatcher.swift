import Logging
import Synchronization

/// Keeps this instance in step with what other instances (or `tollgate` commands) change in the
/// shared storage: every `interval` it re-reads the stored keys (swapping the key snapshot when
/// they changed) and each budget's spend. Off the hot path; a failed read is logged and retried.
final class SharedStateWatcher: Sendable {
    let storage: any Storage
    let runtime: GatewayRuntime
    let configKeys: [ClientKey]
    let interval: Duration
    let logger: Logger
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let lastKeys = Mutex<[StoredKey]?>(nil)

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
        } catch {
            logger.warning("cannot refresh shared state from storage; will retry", metadata: ["error": "\(error)"])
        }
    }
}
