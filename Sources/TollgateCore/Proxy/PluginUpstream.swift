import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// A channel served through an adaptor plugin: the plugin builds the upstream request (URL,
/// auth, converted body) and converts the answer. A plugin that may block (side requests) builds
/// on the blocking pool, never on the event loop.
struct PluginUpstream: Upstream {
    let pluginChannel: PluginChannel

    func prepare(_ call: UpstreamCall, for modelCall: ModelCall, _ done: @escaping (Result<UpstreamRequest, GatewayError>) -> Void) {
        let clientHeaders = call.head.fields.pairs(named: pluginChannel.adaptor.forwardHeaders)
        let body = call.body
        let pluginChannel = self.pluginChannel
        let build: @Sendable () throws -> UpstreamRequestSpec = {
            try pluginChannel.buildRequest(operation: call.operation, dialect: call.dialect, model: call.upstreamModel, body: body,
                                           stream: call.wantsStream, clientHeaders: clientHeaders)
        }
        guard pluginChannel.plugin.mayBlock, let loop = modelCall.eventLoop else {
            return done(request(Result(catching: build), call: call, clientBody: body))
        }
        modelCall.runtime.blockingPool.runIfActive(eventLoop: loop, build).whenComplete { result in
            done(request(result.mapError { $0 }, call: call, clientBody: body))
        }
    }

    private func request(_ built: Result<UpstreamRequestSpec, any Error>, call: UpstreamCall, clientBody: ByteBuffer)
        -> Result<UpstreamRequest, GatewayError> {
        let spec: UpstreamRequestSpec
        switch built {
        case .success(let value): spec = value
        case .failure(let error as AdaptorError): return .failure(Self.gatewayError(error, plugin: pluginChannel.plugin.name))
        case .failure(let error): return .failure(.internalError("\(error)"))
        }
        guard let url = pluginChannel.parsed(spec.url) else {
            return .failure(.internalError("\(pluginChannel.plugin.name) built an invalid URL: '\(spec.url)'"))
        }
        let lines = spec.headerLines.withUnsafeBytes { FieldLines(pluginLines: $0, host: url.host) }
        let head = UpstreamHead(method: HTTPMethod(rawValue: spec.method), uri: url.path, lines: lines, contentLength: spec.body.readableBytes)
        let transducer = Self.transducer(pluginChannel, call: call, clientBody: clientBody)
        return .success(UpstreamRequest(target: .network(.init(endpoint: url.endpoint, head: head, body: spec.body)), transducer: transducer))
    }

    /// Maps a plugin's status to what the client gets.
    static func gatewayError(_ error: AdaptorError, plugin: String) -> GatewayError {
        let message = "\(plugin): \(error.message)"
        switch error.status {
        case TOLLGATE_ERR_INVALID_INPUT: return .badRequest(message)
        case TOLLGATE_ERR_UNSUPPORTED: return .badRequest(message, code: Self.unsupported)
        case TOLLGATE_ERR_UPSTREAM, TOLLGATE_ERR_AUTH: return .badGateway(message)
        default: return .internalError(message)
        }
    }

    /// The error code of an operation the plugin does not build (token counting then estimates).
    static let unsupported = "unsupported"
}

extension PluginUpstream {
    /// Reads an answer through the plugin: streams with its stream hooks, complete answers with
    /// `on_convert_response`.
    static func transducer(_ channel: PluginChannel, call: UpstreamCall, clientBody: ByteBuffer) -> ConvertingTransducer {
        let plugin = channel.plugin.name
        return ConvertingTransducer(wantsStream: call.wantsStream, converter: .plugin(plugin), makeStream: { head throws(GatewayError) in
            do throws(AdaptorError) {
                return try channel.makeStream(operation: call.operation, dialect: call.dialect, model: call.model,
                                              headers: head.fields, includeUsage: call.clientIncludeUsage, requestBody: clientBody)
            } catch {
                throw .badGateway("\(plugin) cannot read the stream: \(error.message)")
            }
        }, convert: { head, body throws(GatewayError) in
            do throws(AdaptorError) {
                let converted = try channel.convertResponse(operation: call.operation, dialect: call.dialect, status: head.code,
                                                            headers: head.fields, body: body, model: call.model, requestBody: clientBody)
                return CompleteAnswer(status: converted.status, headers: UpstreamHeaders.converted(head.fields),
                                      body: converted.body, usage: converted.usage)
            } catch {
                throw .badGateway("\(plugin) could not read the upstream answer (HTTP \(head.code)): \(error.message)")
            }
        })
    }
}

extension PluginStream: StreamConverter {
    func convert(_ chunk: UnsafeRawBufferPointer) -> (out: [UInt8], error: String?) {
        let (out, error) = feed(chunk)
        return (out, error?.message)
    }

    func finishConversion() -> (out: [UInt8], error: String?) {
        let (out, error) = finish()
        return (out, error?.message)
    }

    var convertedUsage: TokenUsage { currentUsage }
}
