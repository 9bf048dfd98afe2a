import Foundation
import Logging
import TollgatePluginABI

/// Finds `*.so` files in a directory, opens each with dlopen and registers those that pass every
/// check. A plugin is registered whole or not at all: every check and its `on_init` run before
/// its provider ids are taken.
public struct PluginLoader {
    public var logger: Logger
    public var sideClient: SideHTTPClient?
    /// Provider ids the core serves itself.
    public static let builtInProviders: Set<String> = ["openai", "mock"]

    public init(logger: Logger, sideClient: SideHTTPClient? = nil) {
        self.logger = logger
        self.sideClient = sideClient
    }

    /// The directory `swift build` puts plugin files in: beside the running executable.
    public static var defaultDirectory: String {
        URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent().path
    }

    /// Loads every `*.so` in `directory` (sorted by name, so which of two duplicates wins is stable).
    public func loadDirectory(_ directory: String, into registry: PluginRegistry) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            logger.warning("plugins directory cannot be read", metadata: ["dir": .string(directory), "error": .string("\(error)")])
            return
        }
        for name in names.sorted() where name.hasSuffix(".so") {
            load(path: (directory as NSString).appendingPathComponent(name), into: registry)
        }
    }

    /// Loads one file and records a report for it either way.
    @discardableResult
    public func load(path: String, into registry: PluginRegistry) -> PluginReport {
        admit(path: path, into: registry) { () throws(Refusal) in try open(path: path, registry: registry) }
    }

    /// Registers a plugin linked into this process (tests, embedders) through the same checks.
    @discardableResult
    public func loadLinked(entry: () -> UnsafeRawPointer?, name: String, into registry: PluginRegistry) -> PluginReport {
        admit(path: name, into: registry) { () throws(Refusal) in
            guard let raw = entry() else { throw Refusal(reason: "entry returned NULL") }
            return try check(descriptor: raw.assumingMemoryBound(to: tollgate_type_plugin_descriptor.self), path: name, registry: registry)
        }
    }

    /// Registers what `attempt` produced, or records why it was refused.
    private func admit(path: String, into registry: PluginRegistry, _ attempt: () throws(Refusal) -> LoadedPlugin) -> PluginReport {
        let report: PluginReport
        do {
            let plugin = try attempt()
            registry.register(plugin)
            report = PluginReport(path: path, status: .loaded(kind: plugin.kind, name: plugin.name, version: plugin.version,
                                                              providers: plugin.providerIDs))
            logger.info("plugin loaded", metadata: ["path": .string(path), "name": .string(plugin.name)])
        } catch {
            report = PluginReport(path: path, status: .refused(reason: error.reason))
            logger.warning("plugin refused", metadata: ["path": .string(path), "reason": .string(error.reason)])
        }
        registry.record(report)
        return report
    }

    struct Refusal: Error { let reason: String }

    private func open(path: String, registry: PluginRegistry) throws(Refusal) -> LoadedPlugin {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw Refusal(reason: "cannot be opened: \(String(cString: dlerror()))")
        }
        do {
            return try check(handle: handle, path: path, registry: registry)
        } catch {
            dlclose(handle)
            throw error
        }
    }

    private func check(handle: UnsafeMutableRawPointer, path: String, registry: PluginRegistry) throws(Refusal) -> LoadedPlugin {
        guard let symbol = dlsym(handle, TOLLGATE_PLUGIN_ENTRY_SYMBOL) else {
            throw Refusal(reason: "does not export \(TOLLGATE_PLUGIN_ENTRY_SYMBOL)")
        }
        let entry = unsafeBitCast(symbol, to: tollgate_type_plugin_entry.self)
        guard let descriptor = entry() else { throw Refusal(reason: "\(TOLLGATE_PLUGIN_ENTRY_SYMBOL) returned NULL") }
        return try check(descriptor: descriptor, path: path, registry: registry)
    }

    private func check(descriptor: UnsafePointer<tollgate_type_plugin_descriptor>, path: String,
                       registry: PluginRegistry) throws(Refusal) -> LoadedPlugin {
        let d = descriptor.pointee
        guard Int32(d.abi_major) == TOLLGATE_ABI_VERSION_MAJOR else {
            throw Refusal(reason: "built for plugin ABI \(d.abi_major).\(d.abi_minor); this gateway speaks ABI \(TOLLGATE_ABI_VERSION_MAJOR).x")
        }
        guard d.struct_size >= MemoryLayout<tollgate_type_plugin_descriptor>.size else {
            throw Refusal(reason: "descriptor is \(d.struct_size) bytes, expected at least \(MemoryLayout<tollgate_type_plugin_descriptor>.size)")
        }
        guard let name = boundedCString(d.name), !name.isEmpty else { throw Refusal(reason: "descriptor has no name") }
        let version = boundedCString(d.version) ?? "unversioned"
        guard d.free_buffer != nil, d.on_init != nil else { throw Refusal(reason: "descriptor lacks free_buffer or on_init") }
        let kind = try checkKind(d)
        let providers = try providerIDs(d, kind: kind, registry: registry)
        let host = PluginHost(pluginName: name, logger: logger, sideClient: sideClient)
        var error = tollgate_type_buffer.empty
        let status = d.on_init(host.table, &error)
        let message = error.string
        if error.ptr != nil { d.free_buffer(&error) }
        guard status == TOLLGATE_OK else {
            throw Refusal(reason: "on_init failed (\(status.name)): \(message.isEmpty ? "no message" : message)")
        }
        return LoadedPlugin(path: path, name: name, version: version, kind: kind, providerIDs: providers,
                            descriptor: descriptor, host: host)
    }

    private func checkKind(_ d: tollgate_type_plugin_descriptor) throws(Refusal) -> PluginKind {
        switch d.kind {
        case TOLLGATE_KIND_ADAPTOR:
            guard let table = d.adaptor else { throw Refusal(reason: "adaptor plugin without adaptor hooks") }
            guard table.pointee.struct_size >= LoadedPlugin.adaptorHooks10Size else {
                throw Refusal(reason: "adaptor hooks table is too small (\(table.pointee.struct_size) bytes)")
            }
            let hooks = LoadedPlugin.copy(table)
            let required: [(String, Bool)] = [
                ("on_adaptor_new", hooks.on_adaptor_new != nil), ("on_adaptor_destroy", hooks.on_adaptor_destroy != nil),
                ("on_channel_new", hooks.on_channel_new != nil), ("on_channel_destroy", hooks.on_channel_destroy != nil),
                ("on_build_request", hooks.on_build_request != nil), ("on_convert_response", hooks.on_convert_response != nil),
                ("on_stream_new", hooks.on_stream_new != nil), ("on_stream_feed", hooks.on_stream_feed != nil),
                ("on_stream_finish", hooks.on_stream_finish != nil), ("on_stream_destroy", hooks.on_stream_destroy != nil),
            ]
            if let missing = required.first(where: { !$0.1 }) { throw Refusal(reason: "adaptor hook \(missing.0) is NULL") }
            return .adaptor
        case TOLLGATE_KIND_BILLING:
            guard let hooks = d.billing?.pointee else { throw Refusal(reason: "billing plugin without billing hooks") }
            guard hooks.struct_size >= MemoryLayout<tollgate_type_billing_hooks>.size,
                  hooks.on_price_new != nil, hooks.on_price_destroy != nil, hooks.on_compute_cost != nil else {
                throw Refusal(reason: "billing hooks table is incomplete")
            }
            return .billing
        default:
            throw Refusal(reason: "unknown plugin kind \(d.kind.rawValue)")
        }
    }

    private func providerIDs(_ d: tollgate_type_plugin_descriptor, kind: PluginKind, registry: PluginRegistry) throws(Refusal) -> [String] {
        guard d.provider_id_count <= 64 else { throw Refusal(reason: "declares \(d.provider_id_count) provider ids (at most 64)") }
        var ids: [String] = []
        for i in 0..<d.provider_id_count {
            guard let id = boundedCString(d.provider_ids?[i]), !id.isEmpty else {
                throw Refusal(reason: "provider id #\(i) is missing or empty")
            }
            guard !ids.contains(id) else { throw Refusal(reason: "declares provider id '\(id)' twice") }
            if Self.builtInProviders.contains(id) { throw Refusal(reason: "provider id '\(id)' is built into the core") }
            if let owner = registry.adaptor(for: id) {
                throw Refusal(reason: "provider id '\(id)' is already served by \(owner.path)")
            }
            ids.append(id)
        }
        if kind == .adaptor && ids.isEmpty { throw Refusal(reason: "adaptor plugin declares no provider id") }
        return ids
    }
}

extension Error {
    var reason: String { (self as? PluginLoader.Refusal)?.reason ?? "\(self)" }
}
