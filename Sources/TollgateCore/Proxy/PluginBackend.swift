import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Sends a request through an adaptor plugin: the plugin builds the upstream request (URL, auth,
/// converted body) and later converts the answer. A plugin that may block (side requests) builds
/// on the blocking pool, never on the event loop.
struct PluginBackend {
    let handler: RequestHandler

    /// Client headers a plugin may forward (provider feature flags); credentials never cross.
    static let forwardable: Set<String> = ["anthropic-beta", "anthropic-version", "openai-beta"]

    /// `unsupported`: what to do instead when the plugin cannot build this operation (token
    /// counting falls back to an estimate); nil answers the client with the plugin's error.
    func serve(_ call: ModelCall, pluginChannel: PluginChannel, unsupported: (() -> Void)? = nil) {
        guard handler.stillWanted(), let loop = handler.eventLoop else { return }
        let clientHeaders = call.head.headers.filter { Self.forwardable.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        let body = Array(buffer: call.body)
        let upstreamModel = call.channel.upstreamModel(for: call.model)
        let build: @Sendable () throws -> UpstreamRequestSpec = {
            try pluginChannel.buildRequest(operation: call.operation, dialect: call.dialect, model: upstreamModel, body: body,
                                           stream: call.wantsStream, clientHeaders: clientHeaders)
        }
        if pluginChannel.plugin.mayBlock {
            handler.runtime.blockingPool.runIfActive(eventLoop: loop, build).whenComplete { result in
                send(result.mapError { $0 }, call: call, pluginChannel: pluginChannel, unsupported: unsupported)
            }
        } else {
            send(Result(catching: build), call: call, pluginChannel: pluginChannel, unsupported: unsupported)
        }
    }

    private func send(_ built: Result<UpstreamRequestSpec, any Error>, call: ModelCall, pluginChannel: PluginChannel,
                      unsupported: (() -> Void)?) {
        guard handler.stillWanted(), let loop = handler.eventLoop, let pool = handler.runtime.pools.pool(for: loop) else { return }
        let spec: UpstreamRequestSpec
        switch built {
        case .success(let value): spec = value
        case .failure(let error as AdaptorError) where error.status == TOLLGATE_ERR_UNSUPPORTED && unsupported != nil:
            return unsupported?() ?? ()
        case .failure(let error as AdaptorError): return fail(Self.gatewayError(error, plugin: pluginChannel.plugin.name))
        case .failure(let error): return fail(.internalError("\(error)"))
        }
        guard let (endpoint, path) = UpstreamEndpoint.parse(spec.url) else {
            return fail(.internalError("\(pluginChannel.plugin.name) built an invalid URL: '\(spec.url)'"))
        }
        var headers = HTTPHeaders(spec.headers)
        if !headers.contains(name: "host") { headers.add(name: "host", value: endpoint.hostHeader) }
        headers.replaceOrAdd(name: "content-length", value: String(spec.body.count))
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: spec.method), uri: path, headers: headers)
        let request = ProxyExchange.Request(endpoint: endpoint, head: head, body: handler.allocator.buffer(bytes: spec.body),
                                            mode: .plugin(pluginChannel), operation: call.operation,
                                            clientWantsStream: call.wantsStream, clientIncludeUsage: call.scan.includeUsage ?? false,
                                            model: call.model, channel: call.channel, clientBody: Array(buffer: call.body),
                                            dialect: call.dialect, lease: call.lease)
        let exchange = ProxyExchange(client: handler, pool: pool, request: request, settings: handler.runtime.upstreamSettings,
                                     maxResponseBytes: handler.runtime.limits.maxResponseBytes)
        handler.exchange = exchange
        exchange.start()
    }

    private func fail(_ error: GatewayError) {
        handler.writeError(error)
        handler.requestEnded(status: error.status, channel: nil, usage: TokenUsage())
    }

    /// Maps a plugin's status to what the client gets.
    static func gatewayError(_ error: AdaptorError, plugin: String) -> GatewayError {
        let message = "\(plugin): \(error.message)"
        switch error.status {
        case TOLLGATE_ERR_INVALID_INPUT: return .badRequest(message)
        case TOLLGATE_ERR_UNSUPPORTED: return .badRequest(message, code: "unsupported")
        case TOLLGATE_ERR_UPSTREAM, TOLLGATE_ERR_AUTH: return .badGateway(message)
        default: return .internalError(message)
        }
    }
}
