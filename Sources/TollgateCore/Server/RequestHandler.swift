import Foundation
import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Serves one client connection: reads a request, answers the gateway's own routes, and hands
/// model calls to `ClientAPI`. Responses are written here, so every path shares the same headers
/// and keep-alive handling. NIO's pipelining helper holds back a second request until the first
/// response ended, so only one request is in flight per connection.
final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let runtime: GatewayRuntime
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var rejectingBody = false
    private var keepAlive = true
    var exchange: ProxyExchange?
    /// The request's spans, when tracing is on.
    var trace: RequestTrace?

    // The request in flight, for its record.
    private(set) var requestID = ""
    private var started = NIODeadline.now()
    private var firstByte: NIODeadline?
    /// Time the upstream took (set by the exchange), for the overhead metric and header.
    var upstreamNanos: Int64?
    private var route = ""
    var keyName: String?
    /// The client key checked at the head (model routes), and whether any key (client or admin)
    /// was valid: only such requests become usage-ledger rows.
    var clientKey: ClientKey?
    var authenticated = false
    /// The model served (after a fallback, the fallback's); `fallbackFrom` the one asked for.
    var model: String?
    var fallbackFrom: String?
    /// The client's dialect (errors are written in it) and, when its answers are produced in the
    /// internal dialect, the translator that converts them as they are written.
    var dialect = ClientDialect.openAI
    var translator: (any ResponseTranslator)?
    /// A stream head went out: the end of the response closes the stream in the client's dialect.
    private var streaming = false
    /// Where the request was routed, for its bill; set once a channel is picked.
    var routed: (channel: RuntimeChannel, upstreamModel: String, marks: BillingMarks)?
    /// The model call being routed, kept so a failed attempt can move to another channel.
    var pending: PendingCall?
    /// A Responses request's `previous_response_id` and what storage held for it (nil: nothing).
    var previousResponse: (id: String, stored: StoredResponse?)?
    /// False for requests that are never billed (token counting).
    var billable = true
    /// The current attempt's hold on its channel's health; the key's hold on its limits.
    var attemptLease: HealthLease?
    var keyLease: KeyLease?
    /// A budgeted key's reservation for this request, settled with its real cost.
    var budgetHold: BudgetTracker.Hold?
    /// The bill, once the usage is final (before a complete answer's head, so it can carry the cost).
    private var bill: Bill?
    private var startedWall: Int64 = 0
    /// Whether the request in flight counts in `runtime.inFlight`.
    private var dispatched = false
    /// The last key presented on this connection and its digest: keep-alive clients send the
    /// same key every time, so it is hashed once per connection.
    var lastKey: (bytes: [UInt8], digest: KeyDigest)?
    /// Since when the connection waits for a request or reads one (nil while one is served):
    /// `ClientSweep` closes it once that exceeds `limits.requestTimeout`.
    private(set) var waitingSince: NIODeadline?
    /// An answer went out and the next request has not begun: `limits.keep_alive_timeout` applies.
    var isIdle: Bool { head == nil && answered }
    private var answered = false

    /// The routes this connection's listener serves.
    let listener: RouteTable.Listener

    init(runtime: GatewayRuntime, listener: RouteTable.Listener = .all) {
        self.runtime = runtime
        self.listener = listener
    }

    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    var isWritable: Bool { context?.channel.isWritable ?? true }
    var eventLoop: EventLoop? { context?.eventLoop }
    var isConnected: Bool { context?.channel.isActive ?? false }
    var peerAddress: String { context?.channel.remoteAddress?.ipAddress ?? "" }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        runtime.clientSweep(for: context.eventLoop)?.remove(self)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        waitingSince = .now()
        runtime.clientSweep(for: context.eventLoop)?.add(self)
        context.fireChannelActive()
    }

    /// The client did not send a whole request in time: 408 when it had started one, else the
    /// (idle or silent) connection is just closed.
    func requestTimedOut() {
        guard let context else { return }
        waitingSince = nil
        guard head != nil, !rejectingBody else { return context.close(promise: nil) }
        rejectingBody = true  // whatever else arrives is dropped
        keepAlive = false
        writeError(GatewayError(status: 408, type: "invalid_request_error", code: "request_timeout",
                                message: "the request was not received within \(runtime.limits.requestTimeout)"))
        requestEnded(status: 408, channel: nil, usage: TokenUsage())
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            let entry = begin(requestHead)
            if let refusal = admissionRefusal(requestHead, entry: entry) { return refuseAtHead(refusal, requestHead) }
            if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init), length > runtime.limits.maxBodyBytes {
                rejectBody()
            } else if requestHead.headers.first(name: "expect")?.lowercased() == "100-continue" {
                // curl and others wait (about a second) for this before sending a larger body.
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: requestHead.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            guard !rejectingBody else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > runtime.limits.maxBodyBytes { return rejectBody() }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard !rejectingBody, let head else {
                self.head = nil  // a refused request's end: the connection is idle now
                return
            }
            let requestBody = body ?? context.channel.allocator.buffer(capacity: 0)
            body = nil
            self.head = nil
            waitingSince = nil
            dispatched = true
            runtime.requestStarted()
            ClientAPI(handler: self).dispatch(head: head, body: requestBody)
        }
    }

    /// Resets the per-request state for a new head; its route-table entry (looked up once).
    private func begin(_ requestHead: HTTPRequestHead) -> RouteTable.Entry {
        head = requestHead
        body = nil
        rejectingBody = false
        keepAlive = requestHead.isKeepAlive
        requestID = runtime.nextRequestID()
        started = .now()
        startedWall = unixMillis()
        firstByte = nil
        upstreamNanos = nil
        routed = nil
        bill = nil
        let entry = RouteTable.entry(method: requestHead.method, path: requestHead.uri.prefix { $0 != "?" })
        route = entry.label
        trace = entry.access == .clientKey ? runtime.tracing?.begin(requestHead, route: entry.label) : nil
        keyName = nil
        clientKey = nil
        authenticated = false
        model = nil
        fallbackFrom = nil
        dialect = entry.dialect
        translator = nil
        streaming = false
        pending = nil
        previousResponse = nil
        billable = true
        return entry
    }

    /// A refusal decided from the head alone (no or a wrong key): no `100 Continue`, no body
    /// byte kept. A small declared body is read and dropped, so the connection stays usable;
    /// a larger, chunked or `100-continue` one is not waited for: the connection closes.
    private func refuseAtHead(_ refusal: GatewayError, _ requestHead: HTTPRequestHead) {
        rejectingBody = true
        let length = requestHead.headers.first(name: "content-length").flatMap(Int.init)
        let drains = length.map { $0 <= Self.drainAllowance } ?? !requestHead.headers.contains(name: "transfer-encoding")
        if !drains || requestHead.headers.first(name: "expect")?.lowercased() == "100-continue" { keepAlive = false }
        writeError(refusal)
        requestEnded(status: refusal.status, channel: nil, usage: TokenUsage())
    }

    /// The most body bytes read (and dropped) after a refusal at the head, to keep the connection.
    static let drainAllowance = 65_536

    /// Answers 413 at once and closes: the rest of an oversized body is never read into memory.
    private func rejectBody() {
        rejectingBody = true
        keepAlive = false
        writeError(GatewayError(status: 413, type: "invalid_request_error", code: "request_too_large",
                                message: "request body is larger than \(runtime.limits.maxBodyBytes) bytes"))
        requestEnded(status: 413, channel: nil, usage: TokenUsage())
    }

    func channelInactive(context: ChannelHandlerContext) {
        runtime.clientSweep(for: context.eventLoop)?.remove(self)
        if dispatched { runtime.clientHungUp() }
        exchange?.clientClosed()
        exchange = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { exchange?.resumeUpstream() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Writing

    func markFirstByte() { if firstByte == nil { firstByte = .now() } }

    /// Adds the headers every answer carries.
    func addGatewayHeaders(_ headers: inout HTTPHeaders, channel: String?) {
        headers.add(name: "x-request-id", value: requestID)
        if let channel {
            headers.add(name: "x-tollgate-channel", value: channel)
            if let model { headers.add(name: "x-tollgate-model", value: model) }
        }
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
    }

    func writeHead(status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context else { return }
        var headers = headers
        streaming = true
        if let translator { headers.replaceOrAdd(name: "content-type", value: translator.streamContentType) }
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    }

    func writeBody(_ buffer: ByteBuffer) {
        if let translator {
            let out = buffer.withUnsafeReadableBytes { translator.streamChunk($0) }
            if !out.isEmpty { writeRaw(allocator.buffer(bytes: out)) }
        } else {
            writeRaw(buffer)
        }
    }

    func writeBody(_ bytes: [UInt8]) { writeBody(allocator.buffer(bytes: bytes)) }

    private func writeRaw(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    /// Ends a stream that already started with an error event in the client's dialect.
    func writeStreamError(_ error: GatewayError) {
        if translator != nil || dialect == .openAI {
            writeBody(ClientDialect.openAI.streamErrorEvent(error))  // translated like any event
        } else {
            writeRaw(allocator.buffer(bytes: dialect.streamErrorEvent(error)))
        }
    }

    func writeEnd() {
        guard let context else { return }
        if streaming, let tail = translator?.streamEnd(), !tail.isEmpty { writeRaw(allocator.buffer(bytes: tail)) }
        let closing = !keepAlive
        let channel = context.channel
        if !closing {
            waitingSince = .now()
            answered = true
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if closing { channel.close(promise: nil) }
        }
    }

    /// A whole response in one go (head with content-length, body, end), translated to the
    /// client's dialect unless `raw`.
    func writeComplete(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer, raw: Bool = false) {
        guard let context else { return }
        var headers = headers
        var body = body
        addCostHeaders(&headers)
        if let upstreamNanos {
            let overhead = max((NIODeadline.now() - started).nanoseconds - upstreamNanos, 0)
            headers.add(name: "x-tollgate-overhead-ms", value: String(format: "%.3f", Double(overhead) / 1e6))
        }
        if !raw, let translator {
            body = allocator.buffer(bytes: translator.complete(status: Int(status.code), body: Array(buffer: body)))
            headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
            headers.replaceOrAdd(name: "content-type", value: "application/json")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        writeEnd()
    }

    /// `headOnly`: the answer to a HEAD request, its headers (content-length too) without the body.
    func writeJSON(status: Int, body: [UInt8], channel: String? = nil, extraHeaders: [(String, String)] = [], raw: Bool = false,
                   headOnly: Bool = false) {
        var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.count))])
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        addGatewayHeaders(&headers, channel: channel)
        writeComplete(status: HTTPResponseStatus(statusCode: status), headers: headers,
                      body: headOnly ? allocator.buffer(capacity: 0) : allocator.buffer(bytes: body), raw: raw)
    }

    /// A non-JSON answer of the gateway's own (metrics, the admin page).
    func writeText(status: Int, contentType: String, body: [UInt8]) {
        var headers = HTTPHeaders([("content-type", contentType), ("content-length", String(body.count))])
        addGatewayHeaders(&headers, channel: nil)
        writeComplete(status: HTTPResponseStatus(statusCode: status), headers: headers, body: allocator.buffer(bytes: body), raw: true)
    }

    /// A gateway error, in the client's dialect.
    func writeError(_ error: GatewayError) {
        writeJSON(status: error.status, body: dialect.errorBody(error), extraHeaders: error.headers, raw: true)
    }

    /// A complete answer carries its cost: `x-tollgate-cost` (exact decimal) and its currency,
    /// or `x-tollgate-cost-status: unpriced` when it could not be priced.
    private func addCostHeaders(_ headers: inout HTTPHeaders) {
        guard let bill, bill != .unpriced else { return }
        if let cost = bill.cost {
            headers.add(name: "x-tollgate-cost", value: cost.decimal)
            headers.add(name: "x-tollgate-cost-currency", value: cost.currency)
        } else {
            headers.add(name: "x-tollgate-cost-status", value: "unpriced")
        }
    }

    // MARK: Ending

    /// The upstream reported it served the priority tier: bill it so.
    func servedPriority() { routed?.marks.priority = true }

    /// Prices the request's final usage (call before writing a complete answer).
    func settle(_ usage: TokenUsage) {
        guard billable, let routed else { return }
        bill = runtime.biller.bill(usage: usage, model: routed.upstreamModel, channel: routed.channel, marks: routed.marks)
    }

    /// Called by an exchange when its response is fully written (or abandoned).
    func exchangeFinished(status: Int, channel: String?, usage: TokenUsage) {
        exchange = nil
        requestEnded(status: status, channel: channel, usage: usage)
    }

    /// After a failed attempt that wrote nothing: hands the request to the next channel. True
    /// when another attempt took it over.
    func failover(from failed: ProxyExchange, contextWindow: Bool = false) -> Bool {
        guard exchange === failed else { return false }
        exchange = nil
        let api = ClientAPI(handler: self)
        if contextWindow ? api.contextWindowFallback() : api.failover() { return true }
        if exchange == nil { exchange = failed }
        return false
    }

    /// True while the client is there to answer. Where a request waited (a budget check against
    /// shared storage, a plugin's blocking build) and its client left meanwhile, the request is
    /// ended here as 499: its key slot, its health lease (adaptive slot, breaker trial) and its
    /// in-flight count are given back, and nothing is sent upstream.
    func stillWanted() -> Bool {
        guard !isConnected else { return true }
        if dispatched { requestEnded(status: 499, channel: nil, usage: TokenUsage()) }
        return false
    }

    /// Bills the finished request, charges its key's budget and hands the record to the ledger.
    func requestEnded(status: Int, channel: String?, usage: TokenUsage) {
        let now = NIODeadline.now()
        attemptLease?.end()
        attemptLease = nil
        keyLease?.finish(usage: usage)
        keyLease = nil
        pending = nil
        if bill == nil { settle(usage) }
        let bill = self.bill ?? .unpriced
        if let hold = budgetHold {
            runtime.budgets.settle(hold, cost: bill.cost, now: startedWall / 1000)
            budgetHold = nil
        } else if let keyName, let cost = bill.cost {
            runtime.budgets.charge(key: keyName, cost: cost, now: startedWall / 1000)
        }
        let record = RequestRecord(requestID: requestID, keyName: keyName, route: route, model: model, channel: channel,
                                   provider: routed?.channel.config.provider, dialect: dialect.name, status: status,
                                   usage: usage, bill: bill, latencyNanos: (now - started).nanoseconds,
                                   firstByteNanos: firstByte.map { ($0 - started).nanoseconds }, upstreamNanos: upstreamNanos,
                                   startedAtMillis: startedWall, authenticated: authenticated, fallbackFrom: fallbackFrom)
        for recorder in runtime.recorders { recorder.record(record) }
        trace?.end(record, responseModel: routed?.upstreamModel)
        trace = nil
        if dispatched {
            dispatched = false
            runtime.requestFinished()
        }
    }
}
