import Foundation
import TollgatePluginABI
#if canImport(Glibc)
import Glibc
#endif

public enum PluginKind: String, Sendable {
    case adaptor, billing
}

/// A plugin that passed every check and whose `on_init` succeeded. Everything made from it (its
/// adaptors, channels and streams) holds it, so its descriptor stays valid while any of them
/// lives; when the last goes (its file was removed or replaced and its requests finished), its
/// `on_shutdown` runs and its image is `dlclose`d.
public final class LoadedPlugin: @unchecked Sendable {
    public let path: String
    public let name: String
    public let version: String
    public let kind: PluginKind
    public let providerIDs: [String]
    /// Per provider id, what the plugin's descriptor says (ABI 1.4; empty before).
    public let providerInfo: [String: PluginProviderInfo]
    public let mayBlock: Bool
    /// When it was loaded (Unix milliseconds).
    public let loadedAt: Int64
    let descriptor: UnsafePointer<tollgate_type_plugin_descriptor>
    let host: PluginHost
    /// The `dlopen` handle; nil for a plugin linked into the process.
    let image: UnsafeMutableRawPointer?

    init(path: String, name: String, version: String, kind: PluginKind, providerIDs: [String],
         providerInfo: [String: PluginProviderInfo] = [:], descriptor: UnsafePointer<tollgate_type_plugin_descriptor>, host: PluginHost, image: UnsafeMutableRawPointer?) {
        self.path = path
        self.name = name
        self.version = version
        self.kind = kind
        self.providerIDs = providerIDs
        self.providerInfo = providerInfo
        self.descriptor = descriptor
        self.host = host
        self.image = image
        loadedAt = unixMillis()
        mayBlock = descriptor.pointee.flags & UInt32(TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK) != 0
    }

    /// A plugin linked into the process (tests, embedders) belongs to the process: it may serve
    /// other gateways in it, so it is never shut down here.
    deinit {
        guard let image else { return }
        descriptor.pointee.on_shutdown?()
        host.release()
        dlclose(image)
    }

    /// Built for ABI 1.2 or later: it may be asked to count tokens (`TOLLGATE_OPERATION_COUNT_TOKENS`).
    var knowsCountTokens: Bool { descriptor.pointee.abi_minor >= 2 }

    /// Built for ABI 1.3 or later: it may be asked to count a request in the internal dialect.
    var countsInternalDialect: Bool { descriptor.pointee.abi_minor >= 3 }

    /// The plugin's hook table, zero-filled past the end of an older (smaller) table so hooks a
    /// plugin built for an earlier minor version lacks read as NULL.
    var adaptorHooks: tollgate_type_adaptor_hooks? {
        descriptor.pointee.adaptor.map { StructSize.copy($0, structSize: $0.pointee.struct_size) }
    }

    /// Frees a buffer this plugin filled.
    func free(_ buffer: inout tollgate_type_buffer) {
        guard buffer.ptr != nil else { return }
        descriptor.pointee.free_buffer(&buffer)
        buffer = .empty
    }

    /// Takes ownership of a plugin buffer: `read` sees its bytes in place, then it is freed.
    func take<R>(_ buffer: inout tollgate_type_buffer, _ read: (UnsafeRawBufferPointer) -> R) -> R {
        defer { free(&buffer) }
        return read(buffer.raw)
    }

    func take(_ buffer: inout tollgate_type_buffer) -> [UInt8] { take(&buffer) { Array($0) } }
    func takeString(_ buffer: inout tollgate_type_buffer) -> String { take(&buffer) { String(decoding: $0, as: UTF8.self) } }
}

/// What `tollgate plugins` prints for one file.
public struct PluginReport: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case loaded(kind: PluginKind, name: String, version: String, providers: [String])
        case refused(reason: String)
    }
    public var path: String
    public var status: Status
    /// When the file was loaded or refused (Unix milliseconds).
    public var at: Int64 = unixMillis()

    public init(path: String, status: Status) {
        self.path = path
        self.status = status
    }

    public var line: String {
        switch status {
        case .loaded(let kind, let name, let version, let providers):
            "loaded   \(path): \(kind.rawValue) '\(name)' \(version), providers: \(providers.joined(separator: ", ")), at \(Self.time(at))"
        case .refused(let reason):
            "refused  \(path): \(reason)"
        }
    }

    /// `at` as RFC 3339 UTC with milliseconds.
    static func time(_ millis: Int64) -> String { ProviderTime.rfc3339(unixMillis: millis) }

    public static func == (a: PluginReport, b: PluginReport) -> Bool { a.path == b.path && a.status == b.status }
}
