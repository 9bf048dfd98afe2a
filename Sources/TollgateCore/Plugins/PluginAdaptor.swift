import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// A failure reported by a plugin hook: its status and message.
public struct AdaptorError: Error, CustomStringConvertible {
    public var status: tollgate_status
    public var message: String
    public var description: String { "\(status.name): \(message)" }
}

/// The shared adaptor instance of one (provider id, API version), made by `AdaptorFactory`.
public final class PluginAdaptor: @unchecked Sendable {
    let plugin: LoadedPlugin
    let hooks: tollgate_type_adaptor_hooks
    let handle: OpaquePointer
    /// Client headers (lower-case) its requests carry: what the plugin declares for the provider
    /// id (ABI 1.4); `openai-beta`, of the internal dialect, for plugins that declare nothing.
    let forwardHeaders: [String]
    /// Header-name prefixes (lower case) its classify hook reads on a 2xx answer (nil: asked about
    /// every answer).
    let successHeaderPrefixes: [[UInt8]]?

    init(plugin: LoadedPlugin, providerID: String, apiVersion: String) throws(AdaptorError) {
        guard let hooks = plugin.adaptorHooks else {
            throw AdaptorError(status: TOLLGATE_ERR_INTERNAL, message: "\(plugin.name) is not an adaptor plugin")
        }
        var out: OpaquePointer?
        var error = tollgate_type_buffer.empty
        let status = withBytesView(providerID) { id in
            withBytesView(apiVersion) { version in hooks.on_adaptor_new(id, version, &out, &error) }
        }
        let message = plugin.takeString(&error)
        guard status == TOLLGATE_OK, let out else {
            throw AdaptorError(status: status == TOLLGATE_OK ? TOLLGATE_ERR_INTERNAL : status,
                               message: message.isEmpty ? "on_adaptor_new failed" : message)
        }
        self.plugin = plugin
        self.hooks = hooks
        handle = out
        forwardHeaders = plugin.providerInfo[providerID]?.forwardHeaders ?? ["openai-beta"]
        successHeaderPrefixes = plugin.providerInfo[providerID]?.successHeaderPrefixes?.map { Array($0.utf8) }
    }

    deinit { hooks.on_adaptor_destroy(handle) }

    /// Whether a 2xx head carries a header the plugin reads on success (most carry none: the
    /// call, and formatting the head for it, is skipped).
    func readsSuccess(_ fields: HeadFields) -> Bool {
        guard let prefixes = successHeaderPrefixes else { return true }
        return !prefixes.isEmpty && fields.contains { name in
            prefixes.contains { prefix in prefix.withUnsafeBytes { name.hasPrefixIgnoringASCIICase($0) } }
        }
    }

    /// Creates a channel handle from the channel's settings JSON.
    func makeChannel(settings: [UInt8]) throws(AdaptorError) -> PluginChannel {
        var out: OpaquePointer?
        var error = tollgate_type_buffer.empty
        let status = withBytesView(settings) { hooks.on_channel_new(handle, $0, &out, &error) }
        try check(status, &error)
        guard let out else { throw AdaptorError(status: TOLLGATE_ERR_INTERNAL, message: "on_channel_new returned no channel") }
        return PluginChannel(adaptor: self, handle: out)
    }

    /// Throws the plugin's error for a non-OK status; frees the error buffer either way.
    func check(_ status: tollgate_status, _ error: inout tollgate_type_buffer) throws(AdaptorError) {
        let message = plugin.takeString(&error)
        guard status == TOLLGATE_OK else {
            throw AdaptorError(status: status, message: message.isEmpty ? "\(plugin.name) failed without a message" : message)
        }
    }
}

/// What an adaptor asks the core to send upstream.
public struct UpstreamRequestSpec: Sendable {
    public var method: String
    public var url: String
    /// The plugin's header lines as the ABI carries them (`Name: value` lines): a request's head
    /// is written from them (`FieldLines(pluginLines:host:)`) without making them a list first.
    public var headerLines: [UInt8]
    public var body: ByteBuffer

    public var headers: [(String, String)] { HeaderLines.parse(headerLines) }
}

/// A channel's plugin handle; destroyed when the channel is dropped.
public final class PluginChannel: @unchecked Sendable {
    let adaptor: PluginAdaptor
    let handle: OpaquePointer
    var plugin: LoadedPlugin { adaptor.plugin }

    /// The last URL the plugin built, parsed, with its host line's value: a channel's plugin
    /// builds the same URL for most requests (parsing it and making the host value again was
    /// 2,300 instructions a converted request).
    private let lastURL = LastLookup<BuiltURL?>()

    /// A URL a plugin built, parsed: where to connect, the request's path and its host line's
    /// value. A class, made once for a URL: as a tuple or a struct it was copied through the
    /// runtime's generic witnesses each time it was remembered.
    final class BuiltURL: Sendable {
        let endpoint: UpstreamEndpoint, path: String, host: String
        init(endpoint: UpstreamEndpoint, path: String, host: String) { (self.endpoint, self.path, self.host) = (endpoint, path, host) }
    }

    init(adaptor: PluginAdaptor, handle: OpaquePointer) {
        self.adaptor = adaptor
        self.handle = handle
    }

    /// A URL the plugin built, parsed; nil when it is not a valid http(s) URL.
    func parsed(_ url: String) -> BuiltURL? {
        lastURL.value(for: url) { UpstreamEndpoint.parse(url).map { endpoint, path in BuiltURL(endpoint: endpoint, path: path, host: endpoint.hostHeader) } }
    }

    deinit { adaptor.hooks.on_channel_destroy(handle) }

    /// Whether the channel takes a body in `dialect` for `model` as it is (ABI 1.1 hook).
    func accepts(_ dialect: tollgate_type_dialect, model: String) -> Bool {
        guard dialect != TOLLGATE_DIALECT_OPENAI, let hook = adaptor.hooks.on_accepts_dialect else { return false }
        return withBytesView(model) { hook(handle, $0, dialect) } != 0
    }

    func buildRequest(operation: tollgate_type_operation, dialect: tollgate_type_dialect, model: String, body: ByteBuffer,
                      stream: Bool, clientHeaders: [(String, String)]) throws(AdaptorError) -> UpstreamRequestSpec {
        var out = tollgate_type_upstream_request()
        out.struct_size = MemoryLayout<tollgate_type_upstream_request>.size
        var error = tollgate_type_buffer.empty
        let headerBytes = HeaderLines.format(clientHeaders)
        let status = withBytesView(model) { modelView in
            withBytesView(body) { bodyView in
                withBytesView(headerBytes) { headersView in
                    var request = tollgate_type_request_in(
                        struct_size: MemoryLayout<tollgate_type_request_in>.size, operation: operation,
                        dialect: dialect, model: modelView, body: bodyView, stream: stream ? 1 : 0,
                        client_headers: headersView)
                    return adaptor.hooks.on_build_request(handle, &request, &out, &error)
                }
            }
        }
        let method = plugin.takeString(&out.method)
        let url = plugin.takeString(&out.url)
        let headerLines = plugin.take(&out.headers)
        let builtBody = plugin.take(&out.body) { ByteBuffer(bytes: $0) }
        try adaptor.check(status, &error)
        return UpstreamRequestSpec(method: method.isEmpty ? "POST" : method, url: url, headerLines: headerLines, body: builtBody)
    }

    func convertResponse(operation: tollgate_type_operation, dialect: tollgate_type_dialect, status: Int,
                         headers: HeadFields, body: ByteBuffer, model: String,
                         requestBody: ByteBuffer) throws(AdaptorError) -> (status: Int, body: ByteBuffer, usage: TokenUsage) {
        var out = tollgate_type_response_out()
        out.struct_size = MemoryLayout<tollgate_type_response_out>.size
        out.status = Int32(status)
        var error = tollgate_type_buffer.empty
        let headerBytes = headers.abiLines
        let result = withBytesView(headerBytes) { headersView in
            withBytesView(body) { bodyView in
                withBytesView(model) { modelView in
                    withBytesView(requestBody) { requestView in
                        var response = tollgate_type_response_in(
                            struct_size: MemoryLayout<tollgate_type_response_in>.size, operation: operation,
                            status: Int32(status), headers: headersView, body: bodyView, model: modelView,
                            request_body: requestView, dialect: dialect)
                        return adaptor.hooks.on_convert_response(handle, &response, &out, &error)
                    }
                }
            }
        }
        let converted = plugin.take(&out.body) { ByteBuffer(bytes: $0) }
        try adaptor.check(result, &error)
        return (Int(out.status), converted, TokenUsage(out.usage))
    }

    func makeStream(operation: tollgate_type_operation, dialect: tollgate_type_dialect, model: String,
                    headers: HeadFields, includeUsage: Bool, requestBody: ByteBuffer) throws(AdaptorError) -> PluginStream {
        var out: OpaquePointer?
        var error = tollgate_type_buffer.empty
        let headerBytes = headers.abiLines
        let status = withBytesView(model) { modelView in
            withBytesView(headerBytes) { headersView in
                withBytesView(requestBody) { requestView in
                    var params = tollgate_type_stream_params(
                        struct_size: MemoryLayout<tollgate_type_stream_params>.size, operation: operation,
                        model: modelView, headers: headersView, include_usage: includeUsage ? 1 : 0,
                        request_body: requestView, dialect: dialect)
                    return adaptor.hooks.on_stream_new(handle, &params, &out, &error)
                }
            }
        }
        try adaptor.check(status, &error)
        guard let out else { throw AdaptorError(status: TOLLGATE_ERR_INTERNAL, message: "on_stream_new returned no stream") }
        return PluginStream(channel: self, handle: out)
    }
}

/// One streamed answer's transducer: upstream bytes in, OpenAI SSE bytes and usage out.
public final class PluginStream: @unchecked Sendable {
    let channel: PluginChannel
    let handle: OpaquePointer
    private var usage = tollgate_type_usage()
    var plugin: LoadedPlugin { channel.plugin }

    init(channel: PluginChannel, handle: OpaquePointer) {
        self.channel = channel
        self.handle = handle
    }

    deinit { channel.adaptor.hooks.on_stream_destroy(handle) }

    public var currentUsage: TokenUsage { TokenUsage(usage) }

    /// Converts a chunk. On failure the error carries any bytes produced before it (an error event).
    func feed(_ chunk: UnsafeRawBufferPointer) -> (out: [UInt8], error: AdaptorError?) {
        var out = tollgate_type_buffer.empty
        var error = tollgate_type_buffer.empty
        let status = channel.adaptor.hooks.on_stream_feed(handle, tollgate_type_bytes(chunk), &out, &usage, &error)
        return finish(status, &out, &error)
    }

    func finish() -> (out: [UInt8], error: AdaptorError?) {
        var out = tollgate_type_buffer.empty
        var error = tollgate_type_buffer.empty
        let status = channel.adaptor.hooks.on_stream_finish(handle, &out, &usage, &error)
        return finish(status, &out, &error)
    }

    private func finish(_ status: tollgate_status, _ out: inout tollgate_type_buffer,
                        _ error: inout tollgate_type_buffer) -> (out: [UInt8], error: AdaptorError?) {
        let bytes = plugin.take(&out)
        do throws(AdaptorError) {
            try channel.adaptor.check(status, &error)
            return (bytes, nil)
        } catch {
            return (bytes, error)
        }
    }
}
