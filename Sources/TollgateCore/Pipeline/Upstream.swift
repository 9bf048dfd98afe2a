import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// One attempt of a model call on one channel, as every upstream receives it. A class: an attempt
/// is handed through several closures and held by its exchange, and each copy of a struct this
/// size retained every one of its references.
final class UpstreamCall: Sendable {
    let head: RequestHead
    let body: ByteBuffer
    let scan: RequestScan
    let model: String
    let operation: tollgate_type_operation
    let channel: RuntimeChannel
    /// The dialect of `body`: the internal one, or the client's when its channel takes it as is.
    let dialect: tollgate_type_dialect
    let wantsStream: Bool
    /// For a passthrough channel: the path after its base path when it is not the operation's
    /// own (`/responses` for a Responses request the upstream serves itself).
    let upstreamPath: String?

    init(head: RequestHead, body: ByteBuffer, scan: RequestScan, model: String, operation: tollgate_type_operation,
         channel: RuntimeChannel, dialect: tollgate_type_dialect, wantsStream: Bool, upstreamPath: String? = nil) {
        self.head = head
        self.body = body
        self.scan = scan
        self.model = model
        self.operation = operation
        self.channel = channel
        self.dialect = dialect
        self.wantsStream = wantsStream
        self.upstreamPath = upstreamPath
    }

    /// The same attempt with another body (in `dialect`) or upstream path.
    func with(body: ByteBuffer? = nil, scan: RequestScan? = nil, dialect: tollgate_type_dialect? = nil,
              upstreamPath: String? = nil) -> UpstreamCall {
        UpstreamCall(head: head, body: body ?? self.body, scan: scan ?? self.scan, model: model, operation: operation,
                     channel: channel, dialect: dialect ?? self.dialect, wantsStream: wantsStream,
                     upstreamPath: upstreamPath ?? self.upstreamPath)
    }

    var isChat: Bool { operation == TOLLGATE_OPERATION_CHAT }
    var upstreamModel: String { channel.upstreamModel(for: model) }
    var clientIncludeUsage: Bool { scan.includeUsage ?? false }
    /// A stream whose client did not ask for usage, on a channel that lets the gateway ask its
    /// upstream for it (`options.include_usage`, default true).
    var mayAskUpstreamForUsage: Bool { wantsStream && scan.includeUsage != true && channel.asksForStreamUsage }
}

/// What an attempt sends, and the transducer that reads its answer. The mock answers in process:
/// its answer is read by the same transducer as a network one.
struct UpstreamRequest {
    enum Target {
        case network(Network)
        case local(AnswerHead, ByteBuffer)
    }
    /// A request sent over the network, made once and then only read: held by reference, so the
    /// exchange that keeps it and sends it (again, on a fresh connection) copies one pointer, not
    /// a head's every header list (as the case's three values, they were copied and destroyed
    /// through the runtime's generic witnesses: some seventy reference counts a request).
    final class Network {
        let endpoint: UpstreamEndpoint
        let head: UpstreamHead
        let body: ByteBuffer

        init(endpoint: UpstreamEndpoint, head: UpstreamHead, body: ByteBuffer) { (self.endpoint, self.head, self.body) = (endpoint, head, body) }
    }
    var target: Target
    var transducer: any AnswerTransducer

    /// The bytes sent, for the estimate of a prompt the upstream never counted.
    var sentBytes: Int {
        if case .network(let request) = target { return request.body.readableBytes }
        return 0
    }
}

/// A kind of channel: it builds an attempt's request (passthrough, template, plugin, mock).
protocol Upstream {
    /// Builds the request; `done` runs on the call's event loop (a plugin that may block builds
    /// on the blocking pool first).
    func prepare(_ attempt: UpstreamCall, for call: ModelCall, _ done: @escaping (Result<UpstreamRequest, GatewayError>) -> Void)
}

/// How a stream's upstream body ended, as its transducer read it.
enum StreamClose {
    /// Ended cleanly; the last bytes to write.
    case clean([UInt8])
    /// The conversion failed: the stream ends with an error event and status 502.
    case failed([UInt8], String)
    /// The body ended inside an event. `notify`: the gateway writes the error event (it held the
    /// partial event back); otherwise the client already has the bytes and its translator closes.
    case truncated(notify: Bool)
}

/// Turns one attempt's answer into the internal (OpenAI) dialect, as it arrives. One per attempt.
protocol AnswerTransducer: AnyObject {
    /// Whether a successful answer with this head is streamed to the client as it arrives (else
    /// it is collected whole and converted by `complete`).
    func streams(_ head: AnswerHead) -> Bool
    /// Starts a stream: the headers of the client's head (before the gateway's own), or an error
    /// when the answer cannot be read.
    func startStream(_ head: AnswerHead) throws(GatewayError) -> HTTPHeaders
    /// A stream chunk in; the internal bytes out (nil: the chunk itself), or the error that ends it.
    func feed(_ chunk: ByteBuffer) -> (out: [UInt8]?, error: String?)
    func finishStream() -> StreamClose
    /// The usage the stream reported so far.
    var streamUsage: TokenUsage { get }
    /// The `service_tier` the upstream said it served, read from the stream.
    var servedTier: JSONValue? { get }
    /// A complete answer (any status): status, headers for the client, body, usage and tier.
    func complete(_ head: AnswerHead, body: ByteBuffer) throws(GatewayError) -> CompleteAnswer
}

struct CompleteAnswer {
    var status: Int
    var headers = HTTPHeaders()
    /// Upstream fields passed on as they came (written before `headers`).
    var lines = FieldLines.none
    var body: ByteBuffer
    var usage: TokenUsage = TokenUsage()
    var servedPriority = false
}

extension AnswerTransducer {
    var servedTier: JSONValue? { nil }
}

/// Upstream headers a client gets (an allow-list): what reads the body and when to retry.
/// Cookies, the provider's internal headers (account, organization, rate limits of the
/// operator's account, processing details) and anything named like the gateway's own
/// (`x-tollgate-*`) stay behind. The upstream's request id (OpenAI's `x-request-id`,
/// Anthropic's `request-id`) is kept as `x-upstream-request-id`.
enum UpstreamHeaders {
    static let passedToClient: [StaticString] = ["content-type", "content-encoding", "cache-control", "retry-after",
                                                 "retry-after-ms", "x-should-retry"]
    static let upstreamRequestID: [StaticString] = ["x-request-id", "request-id"]
    /// The name the upstream's request id is passed on under.
    static let renamedID: StaticString = "x-upstream-request-id"
    /// What a converted answer keeps: the upstream's advice on when to retry.
    static let retryAdvice: [StaticString] = ["retry-after", "retry-after-ms"]

    /// Names are compared as the bytes came; only the fields passed on become text.
    static func forClient(_ upstream: HeadFields) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(passedToClient.count + upstreamRequestID.count)
        passed(upstream) { name, value in
            headers.add(name: name.map { String(decoding: $0, as: UTF8.self) } ?? "\(renamedID)", value: String(decoding: value, as: UTF8.self))
        }
        return headers
    }

    /// The same as lines of the bytes as they came (names and values were checked when the
    /// answer was read): a complete answer's head copies them, no `String` in between.
    static func clientLines(_ upstream: HeadFields) -> FieldLines {
        var lines: [UInt8] = []
        passed(upstream) { name, value in
            FieldLines.appendLine(name ?? UnsafeRawBufferPointer(start: renamedID.utf8Start, count: renamedID.utf8CodeUnitCount), value, to: &lines)
        }
        return FieldLines(checkedLines: lines)
    }

    /// Each field a client gets: its name (nil: the upstream's request id, passed on as
    /// `renamedID`) and value.
    private static func passed(_ upstream: HeadFields, _ pass: (UnsafeRawBufferPointer?, UnsafeRawBufferPointer) -> Void) {
        upstream.forEach { name, value in
            if passedToClient.contains(where: name.equalsIgnoringASCIICase) {
                pass(name, value)
            } else if upstreamRequestID.contains(where: name.equalsIgnoringASCIICase) {
                pass(nil, value)
            }
        }
    }

    /// A converted answer's headers: JSON, plus the upstream's retry advice.
    static func converted(_ upstream: HeadFields) -> HTTPHeaders {
        let advice = upstream.pairs(where: { name in retryAdvice.contains(where: name.equalsIgnoringASCIICase) })
        guard !advice.isEmpty else { return convertedJSON }  // most answers: the shared list, not one made for each
        var headers = convertedJSON
        for (name, value) in advice { headers.add(name: name, value: value) }
        return headers
    }

    static let convertedJSON = HTTPHeaders([("content-type", "application/json")])

    /// The head of a stream the gateway converts to OpenAI SSE.
    static let convertedStream = HTTPHeaders([("content-type", "text/event-stream"), ("cache-control", "no-cache")])
}
