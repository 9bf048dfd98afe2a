import Foundation
import Logging
import Synchronization
import TollgatePluginABI

/// Finds `*.so` files in a directory, opens each with dlopen and registers those that pass every
/// check. A plugin is registered whole or not at all: every check and its `on_init` run before
/// its provider ids are taken.
public struct PluginLoader: Sendable {
    public var logger: Logger
    public var sideClient: SideHTTPClient?
    /// Who else serves a provider id (a template, named by its source), or nil: a plugin may not
    /// take an id that is already served.
    public var servedElsewhere: (@Sendable (String) -> String?)?
    /// False for files found while running: the billing engine is built once, at start.
    public var acceptsBilling = true
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
        for name in names.sorted() where name.hasSuffix(".so") && !name.hasPrefix(".") {
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

    /// Registers what `attempt` produced (in place of an earlier version of the same file), or
    /// records why it was refused; a refused new version leaves the loaded one in service.
    private func admit(path: String, into registry: PluginRegistry, _ attempt: () throws(Refusal) -> LoadedPlugin) -> PluginReport {
        let report: PluginReport
        do {
            let plugin = try attempt()
            let replaced = registry.register(plugin)
            withExtendedLifetime(replaced) {}
            report = PluginReport(path: path, status: .loaded(kind: plugin.kind, name: plugin.name, version: plugin.version,
                                                              providers: plugin.providerIDs))
            logger.info("plugin loaded", metadata: ["path": .string(path), "name": .string(plugin.name),
                                                    "version": .string(plugin.version)])
        } catch {
            var reason = error.reason
            if registry.plugin(at: path) != nil { reason += " (the version loaded before stays in service)" }
            report = PluginReport(path: path, status: .refused(reason: reason))
            logger.warning("plugin refused", metadata: ["path": .string(path), "reason": .string(reason)])
        }
        registry.record(report)
        return report
    }

    struct Refusal: Error { let reason: String }

    private func open(path: String, registry: PluginRegistry) throws(Refusal) -> LoadedPlugin {
        let handle = try openImage(path)
        do {
            return try check(handle: handle, path: path, registry: registry)
        } catch {
            dlclose(handle)
            throw error
        }
    }

    private static let copies = Atomic<Int>(0)

    /// Opens a private copy of the file, so replacing or rewriting the file later never touches
    /// the mapped image, and the dynamic linker (which hands back an image it already holds under
    /// the same name) maps a replaced file afresh. The copy sits beside the file, so `$ORIGIN`
    /// still finds its neighbours, and is unlinked once mapped. An image linked against the Swift
    /// runtime stays mapped after its last `dlclose` (RTLD_NODELETE): the runtime keeps pointers
    /// into every image it has seen, so unmapping one would leave them dangling.
    private func openImage(_ path: String) throws(Refusal) -> UnsafeMutableRawPointer {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw Refusal(reason: "cannot be read") }
        let usesSwift = bytes.range(of: Data("libswiftCore.so".utf8)) != nil
        let base = (path as NSString).lastPathComponent
        let copy = (path as NSString).deletingLastPathComponent + "/.\(base).tollgate-\(getpid())-\(Self.copies.add(1, ordering: .relaxed).newValue)"
        let made = FileManager.default.createFile(atPath: copy, contents: bytes, attributes: [.posixPermissions: 0o600])
        let target = made ? copy : path  // a read-only folder: the file itself
        defer { if made { unlink(copy) } }
        guard let handle = dlopen(target, RTLD_NOW | RTLD_LOCAL | (usesSwift ? RTLD_NODELETE : 0)) else {
            throw Refusal(reason: "cannot be opened: " + String(cString: dlerror()).replacingOccurrences(of: copy, with: path))
        }
        return handle
    }

    private func check(handle: UnsafeMutableRawPointer, path: String, registry: PluginRegistry) throws(Refusal) -> LoadedPlugin {
        guard let symbol = dlsym(handle, TOLLGATE_PLUGIN_ENTRY_SYMBOL) else {
            throw Refusal(reason: "does not export \(TOLLGATE_PLUGIN_ENTRY_SYMBOL)")
        }
        let entry = unsafeBitCast(symbol, to: tollgate_type_plugin_entry.self)
        guard let descriptor = entry() else { throw Refusal(reason: "\(TOLLGATE_PLUGIN_ENTRY_SYMBOL) returned NULL") }
        return try check(descriptor: descriptor, path: path, registry: registry, image: handle)
    }

    private func check(descriptor: UnsafePointer<tollgate_type_plugin_descriptor>, path: String,
                       registry: PluginRegistry, image: UnsafeMutableRawPointer? = nil) throws(Refusal) -> LoadedPlugin {
        let header = descriptor.pointee  // struct_size, abi_major and abi_minor lead in every 1.x descriptor
        guard Int32(header.abi_major) == TOLLGATE_ABI_VERSION_MAJOR else {
            throw Refusal(reason: "built for plugin ABI \(header.abi_major).\(header.abi_minor); this gateway speaks ABI \(TOLLGATE_ABI_VERSION_MAJOR).x")
        }
        // Every field of the ABI 1.0 descriptor, through `billing`, is required.
        guard StructSize.holds(\tollgate_type_plugin_descriptor.billing, structSize: header.struct_size) else {
            throw Refusal(reason: "descriptor is \(header.struct_size) bytes, smaller than an ABI 1.0 descriptor")
        }
        let d = StructSize.copy(descriptor, structSize: header.struct_size)
        guard let name = boundedCString(d.name), !name.isEmpty else { throw Refusal(reason: "descriptor has no name") }
        let version = boundedCString(d.version) ?? "unversioned"
        guard d.free_buffer != nil, d.on_init != nil else { throw Refusal(reason: "descriptor lacks free_buffer or on_init") }
        let kind = try checkKind(d)
        let providers = try providerIDs(d, kind: kind, path: path, registry: registry)
        var providerInfo: [String: PluginProviderInfo] = [:]
        if d.abi_minor >= 4, let json = d.provider_info_json {
            guard let text = boundedCString(json, limit: PluginProviderInfo.maxJSONBytes) else {
                throw Refusal(reason: "provider_info_json is longer than \(PluginProviderInfo.maxJSONBytes) bytes")
            }
            providerInfo = try PluginProviderInfo.parse(text, providerIDs: providers)
        }
        let host = PluginHost(pluginName: name, logger: logger, sideClient: sideClient)
        var error = tollgate_type_buffer.empty
        let status = d.on_init(host.table, &error)
        let message = error.string
        if error.ptr != nil { d.free_buffer(&error) }
        guard status == TOLLGATE_OK else {
            host.release()
            throw Refusal(reason: "on_init failed (\(status.name)): \(message.isEmpty ? "no message" : message)")
        }
        return LoadedPlugin(path: path, name: name, version: version, kind: kind, providerIDs: providers,
                            providerInfo: providerInfo, descriptor: descriptor, host: host, image: image)
    }

    private func checkKind(_ d: tollgate_type_plugin_descriptor) throws(Refusal) -> PluginKind {
        switch d.kind {
        case TOLLGATE_KIND_ADAPTOR:
            guard let table = d.adaptor else { throw Refusal(reason: "adaptor plugin without adaptor hooks") }
            // The ABI 1.0 table, through on_stream_destroy, is the least a plugin may provide.
            guard StructSize.holds(\tollgate_type_adaptor_hooks.on_stream_destroy, structSize: table.pointee.struct_size) else {
                throw Refusal(reason: "adaptor hooks table is too small (\(table.pointee.struct_size) bytes)")
            }
            let hooks = StructSize.copy(table, structSize: table.pointee.struct_size)
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
            guard acceptsBilling else { throw Refusal(reason: "a billing plugin is read at start only; restart the gateway to use this one") }
            guard let table = d.billing else { throw Refusal(reason: "billing plugin without billing hooks") }
            let hooks = StructSize.copy(table, structSize: table.pointee.struct_size)
            guard StructSize.holds(\tollgate_type_billing_hooks.on_compute_cost, structSize: table.pointee.struct_size),
                  hooks.on_price_new != nil, hooks.on_price_destroy != nil, hooks.on_compute_cost != nil else {
                throw Refusal(reason: "billing hooks table is incomplete")
            }
            return .billing
        default:
            throw Refusal(reason: "unknown plugin kind \(d.kind.rawValue)")
        }
    }

    private func providerIDs(_ d: tollgate_type_plugin_descriptor, kind: PluginKind, path: String,
                             registry: PluginRegistry) throws(Refusal) -> [String] {
        guard d.provider_id_count <= 64 else { throw Refusal(reason: "declares \(d.provider_id_count) provider ids (at most 64)") }
        var ids: [String] = []
        for i in 0..<d.provider_id_count {
            guard let id = boundedCString(d.provider_ids?[i]), !id.isEmpty else {
                throw Refusal(reason: "provider id #\(i) is missing or empty")
            }
            guard !ids.contains(id) else { throw Refusal(reason: "declares provider id '\(id)' twice") }
            if Self.builtInProviders.contains(id) { throw Refusal(reason: "provider id '\(id)' is built into the core") }
            if let owner = registry.adaptor(for: id), owner.path != path {  // a new version may take its own ids
                throw Refusal(reason: "provider id '\(id)' is already served by \(owner.path)")
            }
            if let owner = servedElsewhere?(id) { throw Refusal(reason: "provider id '\(id)' is already served by \(owner)") }
            ids.append(id)
        }
        if kind == .adaptor && ids.isEmpty { throw Refusal(reason: "adaptor plugin declares no provider id") }
        return ids
    }
}

extension Error {
    var reason: String { (self as? PluginLoader.Refusal)?.reason ?? "\(self)" }
}
