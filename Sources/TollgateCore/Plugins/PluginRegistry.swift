import Synchronization

/// Every plugin the loader registered, and a report per file it looked at. Plugins come and go
/// while the gateway runs (the plugins folder is watched): a new version of a file takes its
/// predecessor's place, and a removed file's plugin leaves; what requests in flight hold of
/// either stays alive until they finish.
public final class PluginRegistry: Sendable {
    private struct State {
        var plugins: [LoadedPlugin] = []
        var byProvider: [String: LoadedPlugin] = [:]
        var reports: [PluginReport] = []
    }
    private let state = Mutex(State())

    public init() {}

    /// Adds a plugin, in place of the one loaded before from the same path (returned, so its
    /// last reference, and with it `dlclose`, never goes inside the lock).
    @discardableResult
    func register(_ plugin: LoadedPlugin) -> LoadedPlugin? {
        state.withLock { state in
            let old = Self.drop(path: plugin.path, from: &state)
            state.plugins.append(plugin)
            for id in plugin.providerIDs { state.byProvider[id] = plugin }
            return old
        }
    }

    /// Takes out the plugin loaded from `path` (and its report); returns it.
    @discardableResult
    func remove(path: String) -> LoadedPlugin? {
        state.withLock { state in
            state.reports.removeAll { $0.path == path }
            return Self.drop(path: path, from: &state)
        }
    }

    @discardableResult
    private static func drop(path: String, from state: inout State) -> LoadedPlugin? {
        guard let index = state.plugins.firstIndex(where: { $0.path == path }) else { return nil }
        let old = state.plugins.remove(at: index)
        for id in old.providerIDs where state.byProvider[id] === old { state.byProvider[id] = nil }
        return old
    }

    /// Records what happened to a file, replacing its earlier report.
    func record(_ report: PluginReport) {
        state.withLock { state in
            if let index = state.reports.firstIndex(where: { $0.path == report.path }) {
                state.reports[index] = report
            } else {
                state.reports.append(report)
            }
        }
    }

    public var plugins: [LoadedPlugin] { state.withLock { $0.plugins } }
    public var reports: [PluginReport] { state.withLock { $0.reports } }

    /// The plugin loaded from `path`.
    public func plugin(at path: String) -> LoadedPlugin? { state.withLock { $0.plugins.first { $0.path == path } } }

    /// The adaptor plugin serving a provider id.
    public func adaptor(for providerID: String) -> LoadedPlugin? {
        state.withLock { $0.byProvider[providerID] }
    }

    public var providerIDs: Set<String> { state.withLock { Set($0.byProvider.keys) } }
}
