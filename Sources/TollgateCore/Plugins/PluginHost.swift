import Logging
import NIOPosix
import TollgatePluginABI
#if canImport(Glibc)
import Glibc
#endif

/// A side request made on a plugin's behalf (e.g. an OAuth token exchange).
public struct SideRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var timeout: Duration
}

public struct SideResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
}

/// Performs side requests; blocking, so never called on an event loop.
public protocol SideHTTPClient: Sendable {
    func perform(_ request: SideRequest) throws -> SideResponse
}

/// The host table one plugin receives. It lives as long as the plugin, and its `host_context`
/// points back here so callbacks know which plugin calls.
final class PluginHost: @unchecked Sendable {
    let pluginName: String
    let logger: Logger
    let sideClient: SideHTTPClient?
    let table: UnsafeMutablePointer<tollgate_type_host>

    init(pluginName: String, logger: Logger, sideClient: SideHTTPClient?) {
        self.pluginName = pluginName
        self.logger = logger
        self.sideClient = sideClient
        table = .allocate(capacity: 1)
        table.initialize(to: tollgate_type_host(
            struct_size: MemoryLayout<tollgate_type_host>.size,
            abi_major: UInt16(TOLLGATE_ABI_VERSION_MAJOR), abi_minor: UInt16(TOLLGATE_ABI_VERSION_MINOR),
            host_context: nil,
            callback_log: hostLog, callback_now_unix_ns: hostNowUnix, callback_monotonic_ns: hostMonotonic,
            callback_http_call: hostHTTPCall, callback_free_buffer: hostFreeBuffer))
        table.pointee.host_context = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
    }

    /// Frees the table; only once the plugin has let go of it (after `on_shutdown`, or when
    /// `on_init` failed). A plugin linked into the process keeps it for the process's life.
    func release() { table.deallocate() }

    static func from(_ table: UnsafePointer<tollgate_type_host>?) -> PluginHost? {
        guard let context = table?.pointee.host_context else { return nil }
        return Unmanaged<PluginHost>.fromOpaque(context).takeUnretainedValue()
    }
}

private func hostLog(_ table: UnsafePointer<tollgate_type_host>?, _ level: tollgate_type_log_level, _ message: tollgate_type_bytes) {
    guard let host = PluginHost.from(table) else { return }
    let text = message.string
    let metadata: Logger.Metadata = ["plugin": .string(host.pluginName)]
    switch level {
    case TOLLGATE_LOG_DEBUG: host.logger.debug("\(text)", metadata: metadata)
    case TOLLGATE_LOG_INFO: host.logger.info("\(text)", metadata: metadata)
    case TOLLGATE_LOG_WARNING: host.logger.warning("\(text)", metadata: metadata)
    default: host.logger.error("\(text)", metadata: metadata)
    }
}

private func hostNowUnix(_: UnsafePointer<tollgate_type_host>?) -> Int64 { clockNanos(CLOCK_REALTIME) }
private func hostMonotonic(_: UnsafePointer<tollgate_type_host>?) -> Int64 { clockNanos(CLOCK_MONOTONIC) }

func clockNanos(_ clock: clockid_t) -> Int64 {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

private func hostFreeBuffer(_: UnsafePointer<tollgate_type_host>?, _ buffer: UnsafeMutablePointer<tollgate_type_buffer>?) {
    tollgate_type_buffer.release(buffer)
}

private func hostHTTPCall(_ table: UnsafePointer<tollgate_type_host>?, _ request: UnsafePointer<tollgate_type_http_request>?,
                          _ response: UnsafeMutablePointer<tollgate_type_http_response>?,
                          _ error: UnsafeMutablePointer<tollgate_type_buffer>?) -> tollgate_status {
    func fail(_ status: tollgate_status, _ message: String) -> tollgate_status {
        error?.pointee = .allocate(message)
        return status
    }
    guard let host = PluginHost.from(table), let request, let response else {
        return fail(TOLLGATE_ERR_INTERNAL, "callback_http_call: missing argument")
    }
    guard MultiThreadedEventLoopGroup.currentEventLoop == nil else {
        return fail(TOLLGATE_ERR_INTERNAL, "callback_http_call called on an event loop; set TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK")
    }
    guard let client = host.sideClient else { return fail(TOLLGATE_ERR_INTERNAL, "side requests are not available") }
    guard StructSize.holds(\tollgate_type_http_request.timeout_ms, structSize: request.pointee.struct_size) else {
        return fail(TOLLGATE_ERR_INTERNAL, "callback_http_call: request struct_size \(request.pointee.struct_size) is too small")
    }
    let r = StructSize.copy(request, structSize: request.pointee.struct_size)
    let timeout = r.timeout_ms == 0 ? Duration.seconds(30) : .milliseconds(Int64(r.timeout_ms))
    let side = SideRequest(method: r.method.len == 0 ? "POST" : r.method.string, url: r.url.string,
                           headers: HeaderLines.parse(r.headers.raw), body: r.body.array, timeout: timeout)
    do {
        let answer = try client.perform(side)
        response.pointee.struct_size = MemoryLayout<tollgate_type_http_response>.size
        response.pointee.status = Int32(answer.status)
        response.pointee.headers = HeaderLines.allocate(answer.headers, lowercasingNames: true)
        response.pointee.body = .allocate(answer.body)
        return TOLLGATE_OK
    } catch {
        host.logger.warning("side request failed", metadata: ["plugin": .string(host.pluginName), "url": .string(side.url)])
        return fail(TOLLGATE_ERR_UPSTREAM, "side request to \(side.url) failed: \(error)")
    }
}

/// Wall-clock seconds since the Unix epoch.
func unixSeconds() -> Int64 { clockNanos(CLOCK_REALTIME) / 1_000_000_000 }

/// Wall-clock milliseconds since the Unix epoch.
func unixMillis() -> Int64 { clockNanos(CLOCK_REALTIME) / 1_000_000 }
