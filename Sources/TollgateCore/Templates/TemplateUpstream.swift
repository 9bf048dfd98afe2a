import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// A template channel. A template whose request mapping is empty gets the
/// passthrough treatment (body bytes untouched but for the `model_map` rename and
/// `include_usage`); one with a mapping has its body parsed, edited and written once. Answers in
/// OpenAI form are forwarded as for passthrough; others are converted by the template.
struct TemplateUpstream: Upstream {
    let channel: TemplateChannel

    func prepare(_ call: UpstreamCall, for modelCall: ModelCall, _ done: @escaping (Result<UpstreamRequest, GatewayError>) -> Void) {
        let operation: AdaptorTemplate.Operation = call.upstreamPath == ClientRoutes.completions ? .completions
            : call.isChat ? .chat : .embeddings
        let upstreamModel = call.upstreamModel
        guard let path = channel.path(operation, model: upstreamModel) else {
            return done(.failure(.badRequest("provider '\(channel.template.provider)' (template) has no \(operation.rawValue) endpoint", code: "unsupported")))
        }
        let stripUsage = (channel.injectsIncludeUsage || operation == .completions) && call.mayAskUpstreamForUsage
        let body: ByteBuffer
        do {
            body = try makeBody(call, operation: operation, upstreamModel: upstreamModel, stripUsage: stripUsage)
        } catch {
            return done(.failure(error))
        }
        var head = UpstreamHead(uri: path, lines: channel.lines, contentLength: body.readableBytes,
                                accept: call.wantsStream ? "text/event-stream" : "application/json")
        head.extra.addForwarded(from: call)
        let transducer: any AnswerTransducer = channel.answersInOpenAI(stream: call.wantsStream, operation: operation)
            ? PassthroughTransducer(stripUsage: stripUsage) : Self.transducer(channel, call: call)
        done(.success(UpstreamRequest(target: .network(.init(endpoint: channel.endpoint, head: consume head, body: body)), transducer: transducer)))
    }

    /// The upstream body: byte edits when the template maps nothing, else the mapped document.
    private func makeBody(_ call: UpstreamCall, operation: AdaptorTemplate.Operation,
                          upstreamModel: String, stripUsage: Bool) throws(GatewayError) -> ByteBuffer {
        let ops = operation == .chat ? channel.template.request : operation == .embeddings ? channel.template.embeddings?.request ?? [] : []
        guard !ops.isEmpty else {
            var edits: [BodyEdit] = []
            if upstreamModel != call.model, let range = call.scan.modelRange {
                edits.append(BodyEdit(range: range, bytes: JSONValue.quoted(upstreamModel)))
            }
            if stripUsage { edits.append(PassthroughUpstream.includeUsageEdit(call)) }
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
        return ByteBuffer(bytes: document.serialized())
    }
}

extension TemplateUpstream {
    /// Reads an answer the template converts: its event mapping, or its answer mapping.
    static func transducer(_ channel: TemplateChannel, call: UpstreamCall) -> ConvertingTransducer {
        ConvertingTransducer(wantsStream: call.wantsStream, converter: .channel(call.channel.name), makeStream: { _ throws(GatewayError) in
            guard let stream = channel.makeStream(model: call.model, includeUsage: call.clientIncludeUsage) else {
                throw .badGateway("template '\(channel.template.provider)' has no stream mapping", code: "template_mapping_error")
            }
            return stream
        }, convert: { head, body throws(GatewayError) in
            do throws(TemplateChannel.ConversionError) {
                let converted = call.operation == TOLLGATE_OPERATION_EMBEDDINGS
                    ? try channel.convertEmbeddings(status: head.code, body: Array(buffer: body), model: call.model)
                    : try channel.convertAnswer(status: head.code, body: Array(buffer: body), model: call.model)
                return CompleteAnswer(status: converted.status, headers: UpstreamHeaders.converted(head.fields),
                                      body: ByteBuffer(bytes: converted.body), usage: converted.usage)
            } catch {
                throw .badGateway(error.message, code: "template_mapping_error")
            }
        })
    }
}

extension TemplateStream: StreamConverter {
    func convert(_ chunk: UnsafeRawBufferPointer) -> (out: [UInt8], error: String?) { feed(chunk) }
    func finishConversion() -> (out: [UInt8], error: String?) { finish() }
    var convertedUsage: TokenUsage { usage }
}
