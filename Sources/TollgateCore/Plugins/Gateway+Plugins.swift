/// Plugins at run time: a file added to the watched folder is loaded with the same checks as at
/// start, a replaced one is loaded beside the old and takes its providers, a removed one gives
/// them up. Routes are rebuilt for the providers that moved; requests in flight keep the channel
/// (and so the plugin image) they picked until they finish.
extension Gateway {
    func pluginFilesChanged(_ changes: [PluginWatcher.Change]) {
        var moved: Set<String> = []
        var withdrawn: [LoadedPlugin] = []  // released after the routes stop naming them
        for change in changes {
            switch change {
            case .appeared(let path):
                let before = registry.plugin(at: path)?.providerIDs ?? []
                if case .loaded(_, _, _, let providers) = pluginLoader.load(path: path, into: registry).status {
                    moved.formUnion(before)
                    moved.formUnion(providers)
                }
            case .removed(let path):
                guard let plugin = registry.remove(path: path) else { continue }
                runtime.logger.info("plugin withdrawn; requests in flight finish on it", metadata: [
                    "path": .string(path), "name": .string(plugin.name), "providers": .string(plugin.providerIDs.joined(separator: ","))])
                moved.formUnion(plugin.providerIDs)
                withdrawn.append(plugin)
            }
        }
        guard !moved.isEmpty else { return }
        templates.reserve(registry.providerIDs)  // a template may serve what a withdrawn plugin did
        providersChanged(moved)
        withExtendedLifetime(withdrawn) {}
    }
}
