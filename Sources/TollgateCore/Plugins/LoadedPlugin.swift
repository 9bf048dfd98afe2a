import TollgatePluginABI
#if canImport(Glibc)
import Glibc
#endif

public enum PluginKind: String, Sendable {
    case adaptor, billing
}

/// A plugin that passed every check and whose `on_init` succeeded. It stays mapped for the life
/// of the process (Swift images cannot be unloaded safely), so its descriptor pointer is stable.
public final class LoadedPlugin: @unchecked Sendable {
    public let path: String
    public let name: String
    public let version: String
    public let kind: PluginKind
    public let providerIDs: [String]
    public let mayBlock: Bool
    let descriptor: UnsafePointer<tollgate_type_plugin_descriptor>
    let host: PluginHost

    init(path: String, name: String, version: String, kind: PluginKind, providerIDs: [String],
         descriptor: UnsafePointer<tollgate_type_plugin_descriptor>, host: PluginHost) {
        self.path = path
        self.name = name
        self.version = version
        self.kind = kind
        self.providerIDs = providerIDs
        self.descriptor = descriptor
        self.host = host
        mayBlock = descriptor.pointee.flags & UInt32(TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK) != 0
    }

    /// Built for ABI 1.2 or later: it may be asked to count tokens (`TOLLGATE_OPERATION_COUNT_TOKENS`).
    var knowsCountTokens: Bool { descriptor.pointee.abi_minor >= 2 }

    /// The plugin's hook table, zero-filled past the end of an older (smaller) table so hooks a
    /// plugin built for an earlier minor version lacks read as NULL.
    var adaptorHooks: tollgate_type_adaptor_hooks? { descriptor.pointee.adaptor.map(Self.copy) }

    static func copy(_ table: UnsafePointer<tollgate_type_adaptor_hooks>) -> tollgate_type_adaptor_hooks {
        var hooks = tollgate_type_adaptor_hooks()
        let size = min(table.pointee.struct_size, MemoryLayout<tollgate_type_adaptor_hooks>.size)
        withUnsafeMutableBytes(of: &hooks) { $0.copyMemory(from: UnsafeRawBufferPointer(start: table, count: size)) }
        return hooks
    }

    /// Size of the ABI 1.0 adaptor hook table: the least a plugin may provide.
    static let adaptorHooks10Size = MemoryLayout<tollgate_type_adaptor_hooks>.offset(of: \.on_accepts_dialect) ?? 0

    /// Frees a buffer this plugin filled.
    func free(_ buffer: inout tollgate_type_buffer) {
        guard buffer.ptr != nil else { return }
        descriptor.pointee.free_buffer(&buffer)
        buffer = .empty
    }

    /// Takes ownership of a plugin buffer: copies it out and frees it.
    func take(_ buffer: inout tollgate_type_buffer) -> [UInt8] {
        let bytes = buffer.array
        free(&buffer)
        return bytes
    }
}

/// What `tollgate plugins` prints for one file.
public struct PluginReport: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case loaded(kind: PluginKind, name: String, version: String, providers: [String])
        case refused(reason: String)
    }
    public var path: String
    public var status: Status

    public var line: String {
        switch status {
        case .loaded(let kind, let name, let version, let providers):
            "loaded   \(path): \(kind.rawValue) '\(name)' \(version), providers: \(providers.joined(separator: ", "))"
        case .refused(let reason):
            "refused  \(path): \(reason)"
        }
    }
}
