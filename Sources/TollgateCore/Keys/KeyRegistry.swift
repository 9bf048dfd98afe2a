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

    /// Names the config file defines: the admin API cannot replace or revoke them.
    var configNames: Set<String> { Set(configKeys.map(\.name)) }

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

    /// Reloads and swaps the runtime's keys.
    func reload(into runtime: GatewayRuntime) async throws {
        runtime.replaceKeys(try await load())
    }

    /// Swaps the runtime's keys when storage changed since the last look.
    func refresh(into runtime: GatewayRuntime) async throws {
        let stored = try await storage.keys()
        let changed = lastStored.withLock { last -> Bool in
            guard last != stored else { return false }
            last = stored
            return true
        }
        if changed { runtime.replaceKeys(keys(stored)) }
    }

    private func keys(_ stored: [StoredKey], configKeys: [KeyConfig]? = nil) -> [ClientKey] {
        var keys = (configKeys ?? self.configKeys).map { config in
            var key = ClientKey(name: config.name, digest: KeyDigest(of: config.key), models: config.models, limits: config.limits)
            key.fallbacks = config.fallbacks
            return key
        }
        for key in stored {
            guard let client = key.clientKey else {
                logger.error("stored key has a malformed digest; skipped", metadata: ["key": .string(key.name)])
                continue
            }
            keys.append(client)
        }
        return keys
    }
}
