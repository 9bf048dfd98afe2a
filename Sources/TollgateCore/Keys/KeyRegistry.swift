import Logging
import Synchronization

/// Where the gateway's keys come from (the config file and storage) and how changes reach the
/// running gateway: the admin API reloads at once; keys made by `tollgate keys create` in
/// another process arrive through `refresh`, which the gateway calls every 2 s off the hot path
/// (one small query; the snapshot is swapped only when something changed).
public final class KeyRegistry: Sendable {
    private let configured: Mutex<[KeyConfig]>
    /// The config file's keys (a reload replaces them).
    var configKeys: [KeyConfig] {
        get { configured.withLock { $0 } }
        set { configured.withLock { $0 = newValue } }
    }
    let storage: any Storage
    let logger: Logger
    /// Storage's keys as last applied, and which read they came from: reads are numbered when
    /// they start, and a read older than the one applied is dropped, so a poll that read before an
    /// admin change cannot put the old keys back after the change applied.
    private let lastStored = Mutex<(keys: [StoredKey]?, read: Int, applied: Int)>((nil, 0, 0))

    init(configKeys: [KeyConfig], storage: any Storage, logger: Logger) {
        configured = Mutex(configKeys)
        self.storage = storage
        self.logger = logger
    }

    /// Names the config file defines, with where: the admin API cannot take, change or revoke them.
    var configPlaces: [String: String] {
        Dictionary(configKeys.map { ($0.name, $0.source?.description ?? "keys") }, uniquingKeysWith: { first, _ in first })
    }

    /// Every key, the config file's from `configKeys`, with storage's as last read.
    func current(configKeys: [KeyConfig]) -> [ClientKey] {
        keys(lastStored.withLock { $0.keys } ?? [], configKeys: configKeys)
    }

    /// Every key: the config file's, then storage's.
    func load() async throws -> [ClientKey] {
        let (read, stored) = try await read()
        lastStored.withLock { last in
            last.keys = stored
            last.applied = max(last.applied, read)
        }
        return keys(stored)
    }

    /// Reloads and swaps the runtime's keys and budgets.
    func reload(into runtime: GatewayRuntime) async throws {
        try await apply(into: runtime, onlyWhenChanged: false)
    }

    /// Swaps the runtime's keys when storage changed since the last look.
    func refresh(into runtime: GatewayRuntime) async throws {
        try await apply(into: runtime, onlyWhenChanged: true)
    }

    /// Storage's keys, numbered by when the read started.
    private func read() async throws -> (Int, [StoredKey]) {
        let read = lastStored.withLock { last in
            last.read += 1
            return last.read
        }
        return (read, try await storage.keys())
    }

    private func apply(into runtime: GatewayRuntime, onlyWhenChanged: Bool) async throws {
        let (read, stored) = try await read()
        let swapped = lastStored.withLock { last -> Bool in
            guard read > last.applied, !onlyWhenChanged || last.keys != stored else { return false }
            last.keys = stored
            last.applied = read
            runtime.replaceKeys(keys(stored))  // under the lock: a later read's swap cannot be overtaken
            return true
        }
        if swapped { try await applyBudgets(to: runtime.budgets) }
    }

    /// Every key's budget: the config file's, then storage's (as last loaded).
    var budgets: [String: Budget] {
        var budgets: [String: Budget] = [:]
        for key in configKeys { budgets[key.name] = key.budget }
        for key in lastStored.withLock({ $0.keys ?? [] }) where !key.revoked { budgets[key.name] = key.budget }
        return budgets
    }

    /// Swaps the tracker's budgets; a key with a new budget reads its period's spend from storage.
    func applyBudgets(to tracker: BudgetTracker) async throws {
        if tracker.replaceBudgets(budgets) { try await tracker.refresh(now: unixSeconds()) }
    }

    private func keys(_ stored: [StoredKey], configKeys: [KeyConfig]? = nil) -> [ClientKey] {
        var keys = (configKeys ?? self.configKeys).map { config in
            var key = ClientKey(name: config.name, digest: KeyDigest(of: config.key), models: config.models, limits: config.limits)
            key.fallbacks = config.fallbacks
            key.billingTier = config.billingTier
            return key
        }
        for key in stored {
            guard let client = key.clientKey else {
                logger.error("stored key has a malformed digest; skipped", metadata: ["key": .string(key.name)])
                continue
            }
            keys.append(client)
            if let previous = key.previousClientKey { keys.append(previous) }
        }
        return keys
    }
}
