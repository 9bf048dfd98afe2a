import Foundation
import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Serves one client connection: reads a request, answers the gateway's own routes, and hands
/// model calls to `ClientAPI`. Requests are read by its own `RequestParser`; responses are
/// written here, as bytes (`HTTPHead`, chunked framing of its own), so every path shares the same
/// headers, framing and keep-alive handling. A pipelined request waits until the answer before it
/// ended: one request in flight per connection.
final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let runtime: GatewayRuntime
    private var context: ChannelHandlerContext?
    private var head: RequestHead?
    private var body: ByteBuffer?
    private var rejectingBody = false
    private var keepAlive = true
    /// The model call in flight (model routes), which owns the request until it ends.
    var call: ModelCall?
    /// The request's spans, when tracing is on.
    var trace: RequestTrace?

    // The request in flight, for its record.
    private(set) var requestID = ""
    private(set) var started = NIODeadline.now()
    private(set) var startedWall: Int64 = 0
    private var route = ""
    /// The client key checked at the head (client routes), and whether any key (client or admin)
    /// was valid: only such requests become usage-ledger rows.
    var clientKey: ClientKey?
    var authenticated = false
    /// The client's dialect: errors are written in it.
    var dialect = ClientDialect.openAI
    /// A request was read whole and is being served (it counts in `runtime.inFlight`).
    private var dispatched = false
    private var parser = RequestParser()
    /// Bytes that arrived while a request was served (pipelined requests), read once it ended.
    private var unread: ByteBuffer?
    /// The connection's last answer went out (or is going): nothing more is read from it.
    private var closing = false
    /// A response head went out and its end did not yet: no other answer can be written.
    private var responseOpen = false
    /// The open response's body is sent in chunks (a stream: no content-length).
    private var chunked = false
    /// Complete answers are framed in one reused buffer (see OutputBuffer).
    private var output = OutputBuffer()
    /// Inside `channelRead`: an answer written now is flushed now. The same socket read may go on
    /// to find the client's end of input, on which the channel closes and drops what it did
    /// not flush (a client that half-closes after its request still reads the answer).
    private var reading = false
    /// The request is a HEAD (or CONNECT): its answer carries no body, whatever is written.
    private var bodiless = false
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
        requestEnded(status: 408)
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !closing else { return }
        reading = true
        defer { reading = false }
        guard !dispatched, unread == nil else { return hold(&bytes, context: context) }
        parse(&bytes, context: context)
    }

    /// Reads requests from `bytes` until one is dispatched (served while the rest waits), the
    /// connection is closing (a request behind its last answer is never served) or the bytes run
    /// out. A request answered at once lets the next one be read in the same loop.
    private func parse(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        do {
            while !dispatched, !closing, let part = try parser.next(&bytes) { read(part, context: context) }
        } catch {
            return refuseUnreadable(error, context: context)
        }
        if dispatched, bytes.readableBytes > 0 { hold(&bytes, context: context) }
    }

    private func read(_ part: consuming RequestParser.Part, context: ChannelHandlerContext) {
        switch consume part {
        case .head(let requestHead, let requestBody):
            let entry = begin(requestHead)
            if let refusal = admissionRefusal(requestHead, entry: entry) { return refuseAtHead(refusal, requestBody) }
            if let length = requestBody.length, length > runtime.limits.maxBodyBytes {
                rejectBody()
            } else if requestBody.expectsContinue {
                // curl and others wait (about a second) for this before sending a larger body.
                context.writeAndFlush(wrapOutboundOut(allocator.buffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
        case .body(var chunk):
            guard !rejectingBody else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > runtime.limits.maxBodyBytes { return rejectBody() }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard !rejectingBody, let head = head.take() else {
                self.head = nil  // a refused request's end: the connection is idle now
                return
            }
            let requestBody = body.take() ?? context.channel.allocator.buffer(capacity: 0)
            waitingSince = nil
            dispatched = true
            runtime.requestStarted()
            ClientAPI(handler: self).dispatch(head: head, body: requestBody)
        }
    }

    /// Bytes of a pipelined request (sent before the answer to the one before) wait unread, and
    /// the socket is not read meanwhile, until that request ended. Rare, so it alone pays for the
    /// pause; a plain keep-alive request is read with no extra step.
    private func hold(_ bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        guard unread != nil else {
            unread = bytes
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            return
        }
        unread!.writeBuffer(&bytes)
    }

    /// After a request ended: the bytes that waited, then reading resumes.
    private func readPipelined() {
        guard let context, var bytes = unread else { return }
        unread = nil
        parse(&bytes, context: context)
        guard unread == nil else { return }
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        context.read()
    }

    /// Resets the per-request state for a new head; its route-table entry (looked up once).
    private func begin(_ requestHead: RequestHead) -> RouteTable.Entry {
        head = requestHead
        body = nil
        rejectingBody = false
        keepAlive = requestHead.isKeepAlive
        bodiless = requestHead.method == .HEAD || requestHead.method == .CONNECT
        if requestHead.method == .CONNECT { keepAlive = false }  // what follows would be a tunnel's bytes
        requestID = runtime.nextRequestID()
        started = .now()
        startedWall = unixMillis()
        call = nil
        let entry = RouteTable.entry(method: requestHead.method, path: requestHead.path)
        route = entry.label
        trace = entry.access == .clientKey ? runtime.tracing?.begin(requestHead, route: entry.label) : nil
        clientKey = nil
        authenticated = false
        dialect = entry.dialect
        return entry
    }

    /// A refusal decided from the head alone (no or a wrong key): no `100 Continue`, no body
    /// byte kept. A small declared body is read and dropped, so the connection stays usable;
    /// a larger, chunked or `100-continue` one is not waited for: the connection closes.
    private func refuseAtHead(_ refusal: GatewayError, _ requestBody: RequestParser.RequestBody) {
        rejectingBody = true
        let drains = requestBody.length.map { $0 <= Self.drainAllowance } ?? false  // nil: chunked
        if !drains || requestBody.expectsContinue { keepAlive = false }
        writeError(refusal)
        requestEnded(status: refusal.status)
    }

    /// The most body bytes read (and dropped) after a refusal at the head, to keep the connection.
    static let drainAllowance = 65_536

    /// Answers 413 at once and closes: the rest of an oversized body is never read into memory.
    private func rejectBody() {
        rejectingBody = true
        keepAlive = false
        writeError(GatewayError(status: 413, type: "invalid_request_error", code: "request_too_large",
                                message: "request body is larger than \(runtime.limits.maxBodyBytes) bytes"))
        requestEnded(status: 413)
    }

    func channelInactive(context: ChannelHandlerContext) {
        runtime.clientSweep(for: context.eventLoop)?.remove(self)
        if dispatched { runtime.clientHungUp() }
        call?.clientClosed()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { call?.exchange?.resumeUpstream() }
        context.fireChannelWritabilityChanged()
    }

    /// A request the parser refused gets an answer before the connection closes: 431 for a head
    /// over its limit (80 KiB), 400 for anything else. Mid-answer (a refused request's body), the
    /// connection just closes.
    private func refuseUnreadable(_ failure: HTTPWireFailure, context: ChannelHandlerContext) {
        unread = nil
        guard !responseOpen else { return context.close(promise: nil) }
        keepAlive = false
        rejectingBody = true
        let refusal: GatewayError = failure.tooLarge
            ? GatewayError(status: 431, type: "invalid_request_error", code: "headers_too_large",
                           message: "request headers are larger than the gateway accepts (\(HeadInProgress.maxBytes / 1024) KiB)")
            : .badRequest("malformed HTTP request: \(failure.reason)", code: "bad_http_request")
        writeComplete(status: HTTPResponseStatus(statusCode: refusal.status), headers: HTTPHeaders([("content-type", "application/json")]),
                      fields: AnswerFields(requestID: "", close: true), body: allocator.buffer(bytes: refusal.body))  // no request yet
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Writing

    /// The lines every answer's head carries besides its own headers (see `AnswerFields`).
    func fields(channel: String? = nil, model: String? = nil) -> AnswerFields {
        AnswerFields(requestID: requestID, close: !keepAlive, channel: channel, model: model)
    }

    /// A streamed answer's head: its body goes chunked (none for a status that has no body).
    func writeHead(status: HTTPResponseStatus, headers: HTTPHeaders, fields: consuming AnswerFields) {
        guard let context else { return }
        fields.frame(status, length: nil)
        chunked = fields.framing == .chunked && !bodiless
        // A stream's head and events are not kept for reuse: an idle stream then holds no buffer.
        var out = output.take(context.channel.allocator, capacity: 512)
        HTTPHead.writeResponse(status: status, headers: headers, fields: fields, into: &out)
        responseOpen = true
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func writeBody(_ buffer: ByteBuffer) {
        guard let context, !bodiless, buffer.readableBytes > 0 else { return }
        guard chunked else { return context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
        var out = output.take(context.channel.allocator, capacity: buffer.readableBytes + 16)
        buffer.withUnsafeReadableBytes { out.writeChunk($0) }
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
    }

    func writeBody(_ bytes: [UInt8]) { writeBody(allocator.buffer(bytes: bytes)) }

    func writeEnd() {
        guard let context else { return }
        let last = chunked ? context.channel.allocator.buffer(staticString: chunkedEnd) : nil
        chunked = false
        finishResponse(context, last: last, atTickEnd: false)  // a stream's end waits for nothing
    }

    /// The response is over: the connection waits for the next request, or closes once the
    /// last bytes (`last`, else what is already queued) are written. A whole answer is flushed
    /// `atTickEnd` (see `TickFlush`), unless it was written inside the client's own read.
    private func finishResponse(_ context: ChannelHandlerContext, last: ByteBuffer?, atTickEnd: Bool = true) {
        responseOpen = false
        guard !keepAlive else {
            waitingSince = .now()
            answered = true
            if let last { context.write(wrapOutboundOut(last), promise: nil) }
            return TickFlush.flush(context, atTickEnd: atTickEnd && !reading)
        }
        closing = true
        unread = nil
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(last ?? channel.allocator.buffer(capacity: 0))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// A whole response in one go: head, body, end. Its content-length is the body's, or
    /// `length` (a HEAD request's answer: the length of the body it does not carry).
    func writeComplete(status: HTTPResponseStatus, headers: HTTPHeaders, lines: FieldLines = .none, fields: consuming AnswerFields,
                       body: ByteBuffer, length: Int? = nil) {
        guard let context else { return }
        fields.frame(status, length: length ?? body.readableBytes)
        let sendsBody = !bodiless && status.mayHaveResponseBody && body.readableBytes > 0
        var out = output.take(context.channel.allocator, capacity: HTTPHead.capacity(body: sendsBody ? body.readableBytes : 0))
        HTTPHead.writeResponse(status: status, lines: lines, headers: headers, fields: fields, into: &out)
        responseOpen = true
        let rest = sendsBody ? out.coalescing(body) : nil
        output.keep(out)
        if let rest {
            context.write(wrapOutboundOut(out), promise: nil)
            return finishResponse(context, last: rest)
        }
        finishResponse(context, last: out)
    }

    /// `headOnly`: the answer to a HEAD request, its headers (content-length too) without the body.
    func writeJSON(status: Int, body: [UInt8], extraHeaders: [(String, String)] = [], headOnly: Bool = false) {
        var headers = HTTPHeaders([("content-type", "application/json")])
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        writeComplete(status: HTTPResponseStatus(statusCode: status), headers: headers, fields: fields(),
                      body: headOnly ? allocator.buffer(capacity: 0) : allocator.buffer(bytes: body), length: body.count)
    }

    /// A non-JSON answer of the gateway's own (metrics, the admin page).
    func writeText(status: Int, contentType: String, body: [UInt8]) {
        writeComplete(status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders([("content-type", contentType)]),
                      fields: fields(), body: allocator.buffer(bytes: body))
    }

    /// A gateway error, in the client's dialect.
    func writeError(_ error: GatewayError) {
        writeJSON(status: error.status, body: dialect.errorBody(error), extraHeaders: error.headers)
    }

    // MARK: Ending

    /// Hands the finished request's record to the ledger and metrics. A model call passes itself
    /// (it ends through `ModelCall.end`, which has billed it); the gateway's own routes do not.
    func requestEnded(status: Int, channel: String? = nil, call: ModelCall? = nil) {
        let now = NIODeadline.now()
        let record = RequestRecord(requestID: requestID, keyName: call?.key.name ?? clientKey?.name, route: route, model: call?.model,
                                   channel: channel, provider: call?.routed?.channel.config.provider, dialect: dialect.name,
                                   status: status, usage: call?.usage ?? TokenUsage(), bill: call?.bill ?? .unpriced,
                                   latencyNanos: (now - started).nanoseconds,
                                   firstByteNanos: call?.firstByte.map { ($0 - started).nanoseconds }, upstreamNanos: call?.upstreamNanos,
                                   startedAtMillis: startedWall, authenticated: authenticated, fallbackFrom: call?.fallbackFrom)
        for recorder in runtime.recorders { recorder.record(record) }
        trace?.end(record, responseModel: call?.routed?.upstreamModel)
        trace = nil
        if call != nil && self.call === call { self.call = nil }
        if dispatched {
            dispatched = false
            runtime.requestFinished()
            if unread != nil { eventLoop?.execute { self.readPipelined() } }  // once this call's stack unwound
        }
    }
}
