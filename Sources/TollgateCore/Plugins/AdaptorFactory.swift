import TollgatePluginABI
import Synchronization

/// Caches one adaptor instance per (provider id, API version): created on first use, exactly
/// once even when many requests ask at the same moment, and dropped when its plugin or the
/// channels using it change.
public final class AdaptorFactory: Sendable {
    public struct Key: Hashable, Sendable {
        public var providerID: String
        public var apiVersion: String
    }

    private let registry: PluginRegistry
    private let templates: TemplateRegistry?
    private let cache = Mutex<[Key: PluginAdaptor]>([:])
    private let templateCache = Mutex<[Key: TemplateAdaptor]>([:])
    private let created = Atomic<Int>(0)

    public init(registry: PluginRegistry, templates: TemplateRegistry? = nil) {
        self.registry = registry
        self.templates = templates
    }

    /// How many adaptor instances were ever created (for tests and metrics).
    public var creationCount: Int { created.load(ordering: .relaxed) }

    public func adaptor(providerID: String, apiVersion: String = "") throws -> PluginAdaptor {
        let key = Key(providerID: providerID, apiVersion: apiVersion)
        return try cache.withLock { cache in
            if let existing = cache[key] { return existing }
            guard let plugin = registry.adaptor(for: providerID) else {
                throw AdaptorError(status: TOLLGATE_ERR_CONFIG, message: "no plugin serves provider '\(providerID)'")
            }
            let adaptor = try PluginAdaptor(plugin: plugin, providerID: providerID, apiVersion: apiVersion)
            cache[key] = adaptor
            created.add(1, ordering: .relaxed)
            return adaptor
        }
    }

    /// The adaptor of a template provider, made from its current template on first use; nil when
    /// no template defines the provider.
    public func templateAdaptor(providerID: String, apiVersion: String = "") -> TemplateAdaptor? {
        let key = Key(providerID: providerID, apiVersion: apiVersion)
        return templateCache.withLock { cache in
            if let existing = cache[key] { return existing }
            guard let template = templates?.template(for: providerID) else { return nil }
            let adaptor = TemplateAdaptor(template: template, apiVersion: apiVersion)
            cache[key] = adaptor
            created.add(1, ordering: .relaxed)
            return adaptor
        }
    }

    /// Drops the cached adaptors of a provider (its plugin or template changed).
    public func invalidate(providerID: String) {
        cache.withLock { cache in cache = cache.filter { $0.key.providerID != providerID } }
        templateCache.withLock { cache in cache = cache.filter { $0.key.providerID != providerID } }
    }

    /// Keeps only the adaptors the current channels use.
    public func retain(only keys: Set<Key>) {
        cache.withLock { cache in cache = cache.filter { keys.contains($0.key) } }
        templateCache.withLock { cache in cache = cache.filter { keys.contains($0.key) } }
    }

    public var cachedKeys: Set<Key> { cache.withLock { Set($0.keys) }.union(templateCache.withLock { Set($0.keys) }) }
}
