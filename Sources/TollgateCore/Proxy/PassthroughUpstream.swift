import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// An OpenAI-compatible channel: the request goes with its body untouched, except for the two
/// documented edits: a `model_map` rename, and `stream_options.include_usage` set on a stream
/// the client did not ask usage for (the usage chunk is then removed from what the client sees).
/// One per channel, made with it (a request reuses it: no allocation, no path joined).
public final class PassthroughUpstream: Upstream, Sendable {
    let endpoint: UpstreamEndpoint
    let basePath: String
    /// The channel's own headers (host, content type, key), made into lines once.
    let baseLines: FieldLines
    let chatPath: String
    let embeddingsPath: String

    init(endpoint: UpstreamEndpoint, basePath: String, baseHeaders: HTTPHeaders) {
        self.endpoint = endpoint
        self.basePath = basePath
        baseLines = FieldLines(baseHeaders)
        chatPath = basePath + "/chat/completions"
        embeddingsPath = basePath + "/embeddings"
    }

    func prepare(_ call: UpstreamCall, for modelCall: ModelCall, _ done: @escaping (Result<UpstreamRequest, GatewayError>) -> Void) {
        var edits: [BodyEdit] = []
        let upstreamModel = call.upstreamModel
        if upstreamModel != (call.scan.model ?? call.model), let range = call.scan.modelRange {  // model_map, or a fallback
            edits.append(BodyEdit(range: range, bytes: JSONValue.quoted(upstreamModel)))
        }
        // Chat and completions streams need asking for usage; the Responses API always reports it.
        let stripUsage = call.upstreamPath != ClientRoutes.responses && call.mayAskUpstreamForUsage
        if stripUsage { edits.append(Self.includeUsageEdit(call)) }
        let body = BodyEdit.apply(edits, to: call.body)

        let path = call.upstreamPath.map { basePath + $0 } ?? call.channel.azure?.path(chat: call.isChat, model: upstreamModel, apiVersion: call.channel.apiVersion)
            ?? (call.isChat ? chatPath : embeddingsPath)
        var head = UpstreamHead(uri: path, lines: baseLines, contentLength: body.readableBytes,
                                accept: call.wantsStream ? "text/event-stream" : "application/json")
        head.extra.addForwarded(from: call)
        done(.success(UpstreamRequest(target: .network(.init(endpoint: endpoint, head: consume head, body: body)), transducer: PassthroughTransducer(stripUsage: stripUsage))))
    }

    /// Sets `stream_options.include_usage: true`, keeping any other stream option.
    static func includeUsageEdit(_ call: UpstreamCall) -> BodyEdit {
        let edit = call.body.withUnsafeReadableBytes { call.scan.includeUsageEdit(in: $0) }
        return BodyEdit(range: edit.range, bytes: edit.bytes)
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

extension HTTPHeaders {
    /// The client headers the channel forwards (`forwarded_headers`, provider feature flags).
    mutating func addForwarded(from call: UpstreamCall) {
        for (name, value) in call.head.fields.pairs(named: call.channel.forwardedClientHeaders) { add(name: name, value: value) }
    }
}

/// Reads an OpenAI-shaped answer, which the client gets byte for byte: a stream is forwarded
/// chunk by chunk while `OpenAIStreamMeter` reads usage from the same bytes (and, in strip mode,
/// removes the usage chunk the gateway asked for); a complete answer has its usage read before
/// its head is sent.
final class PassthroughTransducer: AnswerTransducer {
    private var meter: OpenAIStreamMeter

    init(stripUsage: Bool) { meter = OpenAIStreamMeter(stripUsageChunk: stripUsage) }

    func streams(_ head: AnswerHead) -> Bool {
        head.fields.first("content-type") { $0.hasPrefixIgnoringASCIICase("text/event-stream") } ?? false
    }

    func startStream(_ head: AnswerHead) throws(GatewayError) -> HTTPHeaders {
        UpstreamHeaders.forClient(head.fields)
    }

    func feed(_ chunk: ByteBuffer) -> (out: [UInt8]?, error: String?) {
        do {
            return (try chunk.withUnsafeReadableBytes { try meter.read($0) }, nil)
        } catch {
            return (nil, "upstream sent an SSE event larger than the gateway accepts")
        }
    }

    func finishStream() -> StreamClose {
        meter.hasPartialEvent ? .truncated(notify: meter.stripUsageChunk) : .clean([])
    }

    var streamUsage: TokenUsage { meter.usage }
    var servedTier: JSONValue? { meter.servedTier }

    func complete(_ head: AnswerHead, body: ByteBuffer) throws(GatewayError) -> CompleteAnswer {
        var answer = CompleteAnswer(status: head.code, lines: UpstreamHeaders.clientLines(head.fields), body: body)
        guard (200..<300).contains(answer.status) else { return answer }
        let found = body.withUnsafeReadableBytes { RequestScan.openAIAnswer($0) }
        if let counted = found.usage { answer.usage = counted }
        answer.servedPriority = BillingMarks.servedPriority(found.serviceTier)
        return answer
    }
}
