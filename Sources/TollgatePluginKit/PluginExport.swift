import TollgatePluginABI
#if canImport(Glibc)
import Glibc
#endif

/// Turns a Swift plugin type into the C descriptor the core loads. A plugin exports it in one line:
///
///     @_cdecl("tollgate_plugin_entry")
///     public func tollgatePluginEntry() -> UnsafeRawPointer { PluginExport.adaptor(MyPlugin.self) }
///
/// (or `PluginExport.billing(MyBilling.self)` for a billing plugin). Each plugin `.so` links its own
/// copy of this kit, so the globals below are per plugin: one `.so` exports one plugin. A process
/// that links the kit once (a test binary) can hold one adaptor and one billing plugin: the
/// descriptor is kept per kind.
public enum PluginExport {
    public static func adaptor(_ type: any AdaptorPlugin.Type) -> UnsafeRawPointer {
        export(name: type.name, version: type.version, kind: TOLLGATE_KIND_ADAPTOR,
               flags: type.buildMayBlock ? UInt32(TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK) : 0,
               providerIDs: type.providerIDs) { descriptor in
            exportedType = type
            if !type.providerInfo.isEmpty {
                let info = JSONValue.object(type.providerInfo.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, $0.value.json) })
                descriptor.provider_info_json = UnsafePointer(strdup(String(decoding: info.serialized(), as: UTF8.self)))
            }
            descriptor.on_init = { host, _ in
                Host.table = host
                return TOLLGATE_OK
            }
            let hooks = UnsafeMutablePointer<tollgate_type_adaptor_hooks>.allocate(capacity: 1)
            hooks.initialize(to: adaptorHooks)
            descriptor.adaptor = UnsafePointer(hooks)
        }
    }

    public static func billing(_ type: any BillingPlugin.Type) -> UnsafeRawPointer {
        export(name: type.name, version: type.version, kind: TOLLGATE_KIND_BILLING, flags: 0, providerIDs: []) { descriptor in
            exportedBillingType = type
            // A billing plugin makes no side requests: in a process that also links an adaptor
            // through this kit (a test binary), the adaptor's host table must stay.
            descriptor.on_init = { host, _ in
                if Host.table == nil { Host.table = host }
                return TOLLGATE_OK
            }
            let hooks = UnsafeMutablePointer<tollgate_type_billing_hooks>.allocate(capacity: 1)
            hooks.initialize(to: billingHooks)
            descriptor.billing = UnsafePointer(hooks)
        }
    }

    /// Builds the descriptor once (the entry symbol may be called many times) with the parts every
    /// kind shares; `attach` adds the kind's hook table.
    private static func export(name: String, version: String, kind: tollgate_type_plugin_kind, flags: UInt32,
                               providerIDs: [String],
                               attach: (inout tollgate_type_plugin_descriptor) -> Void) -> UnsafeRawPointer {
        exportLock.lock()
        defer { exportLock.unlock() }
        if let descriptor = exportedDescriptors[kind.rawValue] { return UnsafeRawPointer(descriptor) }
        var ids: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        if !providerIDs.isEmpty {
            let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: providerIDs.count)
            for (i, id) in providerIDs.enumerated() { list[i] = UnsafePointer(strdup(id)) }
            ids = list
        }
        var value = tollgate_type_plugin_descriptor(
            struct_size: MemoryLayout<tollgate_type_plugin_descriptor>.size,
            abi_major: UInt16(TOLLGATE_ABI_VERSION_MAJOR), abi_minor: UInt16(TOLLGATE_ABI_VERSION_MINOR),
            kind: kind, flags: flags,
            name: UnsafePointer(strdup(name)), version: UnsafePointer(strdup(version)),
            provider_ids: ids.map { UnsafePointer($0) }, provider_id_count: providerIDs.count,
            on_init: nil,  // set by `attach`, per kind
            on_shutdown: { Host.table = nil },
            free_buffer: freeBuffer, adaptor: nil, billing: nil, provider_info_json: nil)
        attach(&value)
        let descriptor = UnsafeMutablePointer<tollgate_type_plugin_descriptor>.allocate(capacity: 1)
        descriptor.initialize(to: value)
        exportedDescriptors[kind.rawValue] = descriptor
        return UnsafeRawPointer(descriptor)
    }
}

/// The host table handed to `on_init`: logging, clocks and side requests.
public enum Host {
    nonisolated(unsafe) static var table: UnsafePointer<tollgate_type_host>?

    public enum Level { case debug, info, warning, error }

    public static func log(_ level: Level, _ message: String) {
        guard let table, let log = table.pointee.callback_log else { return }
        let c: tollgate_type_log_level = switch level {
        case .debug: TOLLGATE_LOG_DEBUG
        case .info: TOLLGATE_LOG_INFO
        case .warning: TOLLGATE_LOG_WARNING
        case .error: TOLLGATE_LOG_ERROR
        }
        withBytesView(Array(message.utf8)) { log(table, c, $0) }
    }

    /// Wall-clock nanoseconds since the Unix epoch.
    public static var nowUnixNanos: Int64 {
        guard let table, let now = table.pointee.callback_now_unix_ns else { return 0 }
        return now(table)
    }

    /// A blocking side request through the gateway (only from `buildRequest` of a plugin whose
    /// `buildMayBlock` is true).
    public static func httpCall(method: String = "POST", url: String, headers: [(String, String)], body: [UInt8],
                                timeoutMilliseconds: UInt32 = 0) throws(PluginError) -> (status: Int, headers: [(String, String)], body: [UInt8]) {
        guard let table, let call = table.pointee.callback_http_call, let free = table.pointee.callback_free_buffer else {
            throw PluginError(.internal, "the host offers no HTTP call")
        }
        var response = tollgate_type_http_response()
        var error = tollgate_type_buffer()
        let status = withBytesView(Array(method.utf8)) { m in
            withBytesView(Array(url.utf8)) { u in
                withBytesView(HeaderLines.format(headers)) { h in
                    withBytesView(body) { b in
                        var request = tollgate_type_http_request(struct_size: MemoryLayout<tollgate_type_http_request>.size,
                                                                 method: m, url: u, headers: h, body: b, timeout_ms: timeoutMilliseconds)
                        return call(table, &request, &response, &error)
                    }
                }
            }
        }
        defer {
            free(table, &response.headers)
            free(table, &response.body)
            free(table, &error)
        }
        guard status == TOLLGATE_OK else { throw PluginError(.upstream, error.string) }
        return (Int(response.status), HeaderLines.parse(response.headers.raw), bytes(response.body))
    }
}

// MARK: - The C hooks

nonisolated(unsafe) private var exportedType: (any AdaptorPlugin.Type)?
/// One descriptor per plugin kind, built on the first call of the entry.
nonisolated(unsafe) private var exportedDescriptors: [UInt32: UnsafeMutablePointer<tollgate_type_plugin_descriptor>] = [:]
private let exportLock = ConditionLock()

private final class AdaptorBox { let plugin: any AdaptorPlugin; init(_ p: any AdaptorPlugin) { plugin = p } }
private final class ChannelBox { let channel: any AdaptorChannel; init(_ c: any AdaptorChannel) { channel = c } }
private final class StreamBox { let stream: any AdaptorStream; init(_ s: any AdaptorStream) { stream = s } }

func retain(_ object: AnyObject) -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(object).toOpaque()) }
func borrow<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) -> T? {
    guard let handle else { return nil }
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}
func release(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// Reports a failure through the error buffer.
func report(_ error: any Error, _ buffer: UnsafeMutablePointer<tollgate_type_buffer>?) -> tollgate_status {
    let failure = error as? PluginError ?? PluginError(.internal, "\(error)")
    buffer?.pointee = .allocate(failure.message)
    return failure.status
}

private func operation(_ op: tollgate_type_operation) -> Operation {
    switch op {
    case TOLLGATE_OPERATION_EMBEDDINGS: .embeddings
    case TOLLGATE_OPERATION_COUNT_TOKENS: .countTokens
    default: .chat
    }
}

private func dialect(_ d: tollgate_type_dialect) -> Dialect {
    switch d {
    case TOLLGATE_DIALECT_ANTHROPIC: .anthropic
    case TOLLGATE_DIALECT_GEMINI: .gemini
    default: .openAI
    }
}

private let adaptorHooks = tollgate_type_adaptor_hooks(
    struct_size: MemoryLayout<tollgate_type_adaptor_hooks>.size,
    on_adaptor_new: { id, version, out, errorOut in
        guard let type = exportedType else { return TOLLGATE_ERR_INTERNAL }
        do {
            out?.pointee = retain(AdaptorBox(try type.init(providerID: id.string, apiVersion: version.string)))
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    },
    on_adaptor_destroy: { release($0) },
    on_channel_new: { adaptor, settings, out, errorOut in
        guard let box = borrow(adaptor, as: AdaptorBox.self) else { return TOLLGATE_ERR_INTERNAL }
        do {
            let json: JSONValue
            do { json = try JSONParser.parse(bytes(settings)) } catch { throw PluginError(.config, "settings are not JSON: \(error)") }
            out?.pointee = retain(ChannelBox(try box.plugin.makeChannel(settings: json)))
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    },
    on_channel_destroy: { release($0) },
    on_build_request: { channel, request, out, errorOut in
        guard let box = borrow(channel, as: ChannelBox.self), let r = request?.pointee, let out else { return TOLLGATE_ERR_INTERNAL }
        do {
            let built = try box.channel.buildRequest(PluginRequest(
                operation: operation(r.operation), model: r.model.string, body: bytes(r.body), dialect: dialect(r.dialect),
                stream: r.stream != 0,
                clientHeaders: HeaderLines.parse(r.client_headers.raw)))
            out.pointee.method = .allocate(built.method)
            out.pointee.url = .allocate(built.url)
            out.pointee.headers = HeaderLines.allocate(built.headers)
            out.pointee.body = allocate(built.body)
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    },
    on_convert_response: { channel, response, out, errorOut in
        guard let box = borrow(channel, as: ChannelBox.self), let r = response?.pointee, let out else { return TOLLGATE_ERR_INTERNAL }
        do {
            let op = operation(r.operation)
            let converted = try box.channel.convertResponse(PluginResponse(
                operation: op, status: Int(r.status), headers: box.channel.readsAnswerHeaders(op) ? HeaderLines.parse(r.headers.raw) : [],
                body: bytes(r.body), model: r.model.string,
                requestBody: box.channel.readsRequestBody(op) ? bytes(r.request_body) : [],
                dialect: StructSize.holds(\tollgate_type_response_in.dialect, structSize: r.struct_size) ? dialect(r.dialect) : .openAI))
            out.pointee.status = Int32(converted.status)
            out.pointee.body = allocate(converted.body)
            converted.usage.write(into: &out.pointee.usage)
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    },
    on_stream_new: { channel, params, out, errorOut in
        guard let box = borrow(channel, as: ChannelBox.self), let p = params?.pointee else { return TOLLGATE_ERR_INTERNAL }
        do {
            let op = operation(p.operation)
            let stream = try box.channel.makeStream(PluginStreamParams(
                operation: op, model: p.model.string, headers: box.channel.readsAnswerHeaders(op) ? HeaderLines.parse(p.headers.raw) : [],
                includeUsage: p.include_usage != 0,
                requestBody: box.channel.readsRequestBody(op) ? bytes(p.request_body) : [],
                dialect: StructSize.holds(\tollgate_type_stream_params.dialect, structSize: p.struct_size) ? dialect(p.dialect) : .openAI))
            out?.pointee = retain(StreamBox(stream))
            return TOLLGATE_OK
        } catch { return report(error, errorOut) }
    },
    on_stream_feed: { stream, chunk, out, usage, errorOut in
        guard let box = borrow(stream, as: StreamBox.self) else { return TOLLGATE_ERR_INTERNAL }
        return step(box, out, usage, errorOut) { usage throws(PluginError) in
            try box.stream.feed(UnsafeRawBufferPointer(start: chunk.ptr, count: chunk.len), usage: &usage)
        }
    },
    on_stream_finish: { stream, out, usage, errorOut in
        guard let box = borrow(stream, as: StreamBox.self) else { return TOLLGATE_ERR_INTERNAL }
        return step(box, out, usage, errorOut) { usage throws(PluginError) in try box.stream.finish(usage: &usage) }
    },
    on_stream_destroy: { release($0) },
    on_accepts_dialect: { channel, model, d in
        guard let box = borrow(channel, as: ChannelBox.self) else { return 0 }
        return box.channel.accepts(dialect(d), model: model.string) ? 1 : 0
    },
    on_classify_response: { channel, answer, out in
        guard let box = borrow(channel, as: ChannelBox.self), let a = answer?.pointee, let out,
              let verdict = box.channel.classify(PluginAnswer(status: Int(a.status), headers: HeaderLines.parse(a.headers.raw),
                                                              body: bytes(a.body), model: a.model.string)) else { return 1 }
        verdict.write(into: &out.pointee)
        return 0
    })

/// Runs a feed or finish, carrying usage across the boundary and partial output on failure.
private func step(_ box: StreamBox, _ out: UnsafeMutablePointer<tollgate_type_buffer>?, _ usage: UnsafeMutablePointer<tollgate_type_usage>?,
                  _ errorOut: UnsafeMutablePointer<tollgate_type_buffer>?,
                  _ body: (inout PluginUsage) throws(PluginError) -> [UInt8]) -> tollgate_status {
    var current = usage.map { TokenUsage($0.pointee) } ?? TokenUsage()
    defer { usage.map { current.write(into: &$0.pointee) } }
    do {
        out?.pointee = allocate(try body(&current))
        return TOLLGATE_OK
    } catch {
        out?.pointee = allocate(error.output)
        return report(error, errorOut)
    }
}

// MARK: - Conversions

func bytes(_ view: tollgate_type_bytes) -> [UInt8] { view.array }
private func bytes(_ buffer: tollgate_type_buffer) -> [UInt8] { buffer.array }
func allocate(_ bytes: [UInt8]) -> tollgate_type_buffer { .allocate(bytes) }
private let freeBuffer: @convention(c) (UnsafeMutablePointer<tollgate_type_buffer>?) -> Void = { tollgate_type_buffer.release($0) }
