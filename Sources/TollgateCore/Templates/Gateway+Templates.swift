import Foundation

/// Template reloads at run time: the channels of a changed provider are rebuilt and a new route
/// snapshot is swapped in; requests in flight finish on the channels they picked.
extension Gateway {
    public static let defaultTemplatesDirectory = "./adaptor-templates"

    /// `templates.dir` from the config, else `./adaptor-templates` when it exists.
    public static func templatesDirectory(_ config: GatewayConfig) -> String? {
        if let configured = config.templatesDirectory { return configured }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: defaultTemplatesDirectory, isDirectory: &isDirectory)
        return exists && isDirectory.boolValue ? defaultTemplatesDirectory : nil
    }

    /// Rebuilds the channels whose provider is in `providers` (its template or plugin changed;
    /// also those waiting for it) and drops the factory's adaptors of those providers; other
    /// channels are kept as they are.
    func providersChanged(_ providers: Set<String>) {
        routeEdits.withLock { _ in rebuildChannels(of: providers) }
    }

    private func rebuildChannels(of providers: Set<String>) {
        for provider in providers { factory.invalidate(providerID: provider) }
        let logger = runtime.logger
        let current = Dictionary(runtime.snapshot.router.channels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var channels: [RuntimeChannel] = []
        for config in allChannelConfigs {
            guard providers.contains(config.provider) else {
                if let kept = current[config.name] { channels.append(kept) }
                continue
            }
            if let problem = Self.providerProblem(config, registry: registry, pluginsDirectory: self.config.pluginsDirectory,
                                                  templates: templates) {
                logger.warning("channel waits for its provider", metadata: ["channel": .string(config.name), "reason": .string(problem)])
                continue
            }
            do {
                channels.append(try RuntimeChannel.make(config, factory: factory, health: runtime.health.health(for: config.name)))
                logger.info("channel rebuilt on its changed provider", metadata: ["channel": .string(config.name),
                                                                                   "provider": .string(config.provider)])
            } catch {
                logger.error("channel cannot use its changed provider; it is out of service", metadata: [
                    "channel": .string(config.name), "error": .string("\(error)")])
            }
        }
        runtime.replaceRouter(ModelRouter(channels: channels, outOfRotation: runtime.snapshot.router.outOfRotation))
    }
}
