import NIOCore
import NIOHTTP1

/// Sends a request to a template channel. A template whose request mapping is empty gets the
/// passthrough treatment (body bytes untouched but for the `model_map` rename and
/// `include_usage`); one with a mapping has its body parsed, edited and written once. Answers in
/// OpenAI form are forwarded as for passthrough; others are converted by the template.
struct TemplateBackend {
    let handler: RequestHandler

    func serve(_ call: ModelCall, channel: TemplateChannel) {
        guard handler.stillWanted(), let loop = handler.eventLoop, let pool = handler.runtime.pools.pool(for: loop) else { return }
        let operation: AdaptorTemplate.Operation = call.upstreamPath == ClientRoutes.completions ? .completions
            : call.isChat ? .chat : .embeddings
        let upstreamModel = call.channel.upstreamModel(for: call.model)
        guard let path = channel.path(operation, model: upstreamModel) else {
            return fail(.badRequest("provider '\(channel.template.provider)' (template) has no \(operation.rawValue) endpoint", code: "unsupported"))
        }
        let stripUsage = call.wantsStream && (channel.injectsIncludeUsage || operation == .completions) && call.scan.includeUsage != true
        let body: ByteBuffer
        do {
            body = try makeBody(call, channel: channel, operation: operation, upstreamModel: upstreamModel, stripUsage: stripUsage)
        } catch {
            return fail(error)
        }
        var headers = channel.headers
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "accept", value: call.wantsStream ? "text/event-stream" : "application/json")
        for (name, value) in call.head.headers where call.channel.forwardedClientHeaders.contains(where: { name.equalsIgnoringASCIICase($0) }) {
            headers.add(name: name, value: value)
        }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        let mode: ProxyExchange.Mode = channel.answersInOpenAI(stream: call.wantsStream, operation: operation)
            ? .passthrough(stripUsage: stripUsage) : .template(channel)
        let request = ProxyExchange.Request(endpoint: channel.endpoint, head: head, body: body, mode: mode, operation: call.operation,
                                            clientWantsStream: call.wantsStream, clientIncludeUsage: call.scan.includeUsage ?? false,
                                            model: call.model, channel: call.channel, lease: call.lease)
        let exchange = ProxyExchange(client: handler, pool: pool, request: request, settings: handler.runtime.upstreamSettings,
                                     maxResponseBytes: handler.runtime.limits.maxResponseBytes)
        handler.exchange = exchange
        exchange.start()
    }

    /// The upstream body: byte edits when the template maps nothing, else the mapped document.
    private func makeBody(_ call: ModelCall, channel: TemplateChannel, operation: AdaptorTemplate.Operation,
                          upstreamModel: String, stripUsage: Bool) throws(GatewayError) -> ByteBuffer {
        let ops = operation == .chat ? channel.template.request : operation == .embeddings ? channel.template.embeddings?.request ?? [] : []
        guard !ops.isEmpty else {
            var edits: [BodyEdit] = []
            if upstreamModel != call.model, let range = call.scan.modelRange {
                edits.append(BodyEdit(range: range, bytes: JSONValue.quoted(upstreamModel)))
            }
            if stripUsage { edits.append(PassthroughBackend.includeUsageEdit(call)) }
            return BodyEdit.apply(edits, to: call.body)
        }
        var document: JSONValue
        do {
            document = try call.body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            throw GatewayError.badRequest("request body is not valid JSON: \(error)", code: "invalid_json")
        }
        do {
            try JSONPath(segments: [.key("model")]).set(.string(upstreamModel), in: &document)
            // A mapped embeddings request always has a list of inputs (a template cannot wrap a string).
            if operation == .embeddings, case .string(let single)? = document["input"] {
                try JSONPath(segments: [.key("input")]).set(.array([.string(single)]), in: &document)
            }
            if stripUsage {
                try JSONPath(segments: [.key("stream_options"), .key("include_usage")]).set(.bool(true), in: &document)
            }
            for op in ops { try op.apply(to: &document) }
        } catch {
            throw GatewayError.badRequest("template '\(channel.template.provider)' cannot map this request: \(error)", code: "template_mapping_error")
        }
        return handler.allocator.buffer(bytes: document.serialized())
    }

    private func fail(_ error: GatewayError) {
        handler.writeError(error)
        handler.requestEnded(status: error.status, channel: nil, usage: TokenUsage())
    }
}
