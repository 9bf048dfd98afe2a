import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Sends a request to an OpenAI-compatible channel with its body untouched, except for the two
/// documented edits: a `model_map` rename, and `stream_options.include_usage` set on a stream
/// the client did not ask usage for (the usage chunk is then removed from what the client sees).
struct PassthroughBackend {
    let handler: RequestHandler

    func serve(_ call: ModelCall, endpoint: UpstreamEndpoint, basePath: String, baseHeaders: HTTPHeaders) {
        guard handler.stillWanted(), let loop = handler.eventLoop, let pool = handler.runtime.pools.pool(for: loop) else { return }
        var edits: [BodyEdit] = []
        let upstreamModel = call.channel.upstreamModel(for: call.model)
        if upstreamModel != (call.scan.model ?? call.model), let range = call.scan.modelRange {  // model_map, or a fallback
            edits.append(BodyEdit(range: range, bytes: JSONValue.quoted(upstreamModel)))
        }
        // Chat and completions streams need asking for usage; the Responses API always reports it.
        let stripUsage = call.upstreamPath != ClientRoutes.responses && call.wantsStream && call.scan.includeUsage != true
        if stripUsage { edits.append(Self.includeUsageEdit(call)) }
        let body = BodyEdit.apply(edits, to: call.body)

        let path = call.upstreamPath.map { basePath + $0 } ?? call.channel.azure?.path(chat: call.isChat, model: upstreamModel, apiVersion: call.channel.apiVersion)
            ?? basePath + (call.isChat ? "/chat/completions" : "/embeddings")
        var headers = baseHeaders
        headers.add(name: "content-length", value: String(body.readableBytes))
        headers.add(name: "accept", value: call.wantsStream ? "text/event-stream" : "application/json")
        for (name, value) in call.head.headers where call.channel.forwardedClientHeaders.contains(where: { name.equalsIgnoringASCIICase($0) }) {
            headers.add(name: name, value: value)
        }
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        let request = ProxyExchange.Request(endpoint: endpoint, head: head, body: body, mode: .passthrough(stripUsage: stripUsage),
                                            operation: call.operation, clientWantsStream: call.wantsStream,
                                            clientIncludeUsage: call.scan.includeUsage ?? false, model: call.model,
                                            channel: call.channel, lease: call.lease)
        let exchange = ProxyExchange(client: handler, pool: pool, request: request, settings: handler.runtime.upstreamSettings,
                                     maxResponseBytes: handler.runtime.limits.maxResponseBytes)
        handler.exchange = exchange
        exchange.start()
    }

    /// Sets `stream_options.include_usage: true`, keeping any other stream option.
    static func includeUsageEdit(_ call: ModelCall) -> BodyEdit {
        guard let range = call.scan.streamOptionsRange else {
            let insertion = Array(#""stream_options":{"include_usage":true},"#.utf8)
            return BodyEdit(range: call.scan.bodyStart..<call.scan.bodyStart, bytes: insertion)
        }
        let original = call.body.withUnsafeReadableBytes { raw in
            try? JSONParser.parse(UnsafeRawBufferPointer(rebasing: raw[range]))
        }
        var members = original?.objectValue?.filter { $0.key != "include_usage" } ?? []
        members.append(.init("include_usage", .bool(true)))
        return BodyEdit(range: range, bytes: JSONValue.object(members).serialized())
    }
}

/// A byte-range replacement in a request body.
struct BodyEdit {
    var range: Range<Int>
    var bytes: [UInt8]

    /// Applies non-overlapping edits; with none, returns the body itself (no copy).
    static func apply(_ edits: [BodyEdit], to body: ByteBuffer) -> ByteBuffer {
        guard !edits.isEmpty else { return body }
        var out = ByteBufferAllocator().buffer(capacity: body.readableBytes + edits.reduce(0) { $0 + $1.bytes.count })
        body.withUnsafeReadableBytes { raw in
            var position = 0
            for edit in edits.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[position..<edit.range.lowerBound]))
                out.writeBytes(edit.bytes)
                position = edit.range.upperBound
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: raw[position...]))
        }
        return out
    }
}
