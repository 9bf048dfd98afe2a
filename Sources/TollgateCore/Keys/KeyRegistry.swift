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
    private let lastStored = Mutex<[StoredKey]?>(nil)

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
        keys(lastStored.withLock { $0 } ?? [], configKeys: configKeys)
    }

    /// Every key: the config file's, then storage's.
    func load() async throws -> [ClientKey] {
        let stored = try await storage.keys()
        lastStored.withLock { $0 = stored }
        return keys(stored)
    }

    /// Reloads and swaps the runtime's keys and budgets.
    func reload(into runtime: GatewayRuntime) async throws {
        runtime.replaceKeys(try await load())
        try await applyBudgets(to: runtime.budgets)
    }

    /// Swaps the runtime's keys when storage changed since the last look.
    func refresh(into runtime: GatewayRuntime) async throws {
        let stored = try await storage.keys()
        let changed = lastStored.withLock { last -> Bool in
            guard last != stored else { return false }
            last = stored
            return true
        }
        guard changed else { return }
        runtime.replaceKeys(keys(stored))
        try await applyBudgets(to: runtime.budgets)
    }

    /// Every key's budget: the config file's, then storage's (as last loaded).
    var budgets: [String: Budget] {
        var budgets: [String: Budget] = [:]
        for key in configKeys { budgets[key.name] = key.budget }
        for key in lastStored.withLock({ $0 ?? [] }) where !key.revoked { budgets[key.name] = key.budget }
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
