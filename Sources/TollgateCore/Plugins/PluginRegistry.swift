import Synchronization

/// Every plugin the loader registered, and a report per file it looked at.
public final class PluginRegistry: Sendable {
    private struct State {
        var plugins: [LoadedPlugin] = []
        var byProvider: [String: LoadedPlugin] = [:]
        var reports: [PluginReport] = []
    }
    private let state = Mutex(State())

    public init() {}

    func register(_ plugin: LoadedPlugin) {
        state.withLock { state in
            state.plugins.append(plugin)
            for id in plugin.providerIDs { state.byProvider[id] = plugin }
        }
    }

    func record(_ report: PluginReport) {
        state.withLock { $0.reports.append(report) }
    }

    public var plugins: [LoadedPlugin] { state.withLock { $0.plugins } }
    public var reports: [PluginReport] { state.withLock { $0.reports } }

    /// The adaptor plugin serving a provider id.
    public func adaptor(for providerID: String) -> LoadedPlugin? {
        state.withLock { $0.byProvider[providerID] }
    }

    public var providerIDs: Set<String> { state.withLock { Set($0.byProvider.keys) } }
}
