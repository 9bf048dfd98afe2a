import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// One request's trip to an upstream and back, on the client connection's event loop.
///
/// Passthrough (same dialect): the upstream's bytes go to the client as they arrive; a stream is
/// written chunk by chunk while `OpenAIStreamMeter` reads usage from the same bytes. A complete
/// answer is collected (it arrives whole anyway) so its usage is read before the head is sent.
/// Plugin channels: the adaptor's transducer turns each upstream chunk into OpenAI SSE bytes.
/// Confined to its event loop (hence @unchecked Sendable): every method runs there.
final class ProxyExchange: UpstreamResponseDelegate, @unchecked Sendable {
    enum Mode {
        /// OpenAI-compatible upstream; `stripUsage` when the gateway asked for usage itself.
        case passthrough(stripUsage: Bool)
        case plugin(PluginChannel)
        /// A template whose provider answers in its own format (Templates/).
        case template(TemplateChannel)
    }

    struct Request {
        var endpoint: UpstreamEndpoint
        var head: HTTPRequestHead
        var body: ByteBuffer
        var mode: Mode
        var operation: tollgate_type_operation
        var clientWantsStream: Bool
        var clientIncludeUsage: Bool
        var model: String
        var channel: RuntimeChannel
        /// The client's body, for plugins converting the answer (empty for passthrough).
        var clientBody: [UInt8] = []
        /// The dialect of the body sent to a plugin, which it answers in.
        var dialect = TOLLGATE_DIALECT_OPENAI
        /// This attempt's hold on the channel's health (breaker trial, adaptive slot).
        var lease: HealthLease?
    }

    private enum Phase { case connecting, waitingHead, streaming, buffering, finished }

    private unowned let client: RequestHandler
    private let pool: LoopPool
    private let request: Request
    private let settings: UpstreamSettings
    private let maxResponseBytes: Int
    private var phase = Phase.connecting
    private var connection: UpstreamConnection?
    private var attempts = 0
    private var responseHead: HTTPResponseHead?
    private var buffered: ByteBuffer?
    private var meter: OpenAIStreamMeter?
    private var pluginStream: PluginStream?
    /// The request's token counter, read by the ledger when the exchange ends.
    private let usage = UsageCounter()
    /// The client hung up (`on_client_disconnect: drain` reads the rest for its usage, unwritten).
    private var clientGone = false
    /// The upstream took the request on (a 2xx head, or a hang-up while it worked on one): what
    /// it served is billed, estimated where it reported nothing (`UsageEstimate`).
    private var billable = false
    /// Generated text seen so far, for that estimate.
    private var streamedText = StreamedText()
    private var retainedClient: RequestHandler?
    private var templateStream: TemplateStream?
    /// When the current wait (for the head, or for the next chunk) times out; checked by the
    /// loop's sweep, so arming it costs no timer.
    private(set) var deadline = NIODeadline.distantFuture
    /// When the request went out (the head's latency and the time spent on the upstream are measured from here).
    private var sentAt = NIODeadline.now()

    init(client: RequestHandler, pool: LoopPool, request: Request, settings: UpstreamSettings, maxResponseBytes: Int) {
        self.client = client
        self.pool = pool
        self.request = request
        self.settings = settings
        self.maxResponseBytes = maxResponseBytes
    }

    // MARK: Sending

    func start(freshConnection: Bool = false) {
        attempts += 1
        phase = .connecting
        if attempts == 1 { pool.watch(self) }
        if !freshConnection, let idle = pool.takeIdle(request.endpoint) { return send(on: idle) }
        pool.connect(request.endpoint).whenComplete { [self] result in
            guard phase == .connecting else {
                if case .success(let connection) = result { connection.abandon() }
                return
            }
            switch result {
            case .success(let connection): send(on: connection)
            case .failure(let error):
                let failure = connectFailure(error)
                failed(.unreachable(failure.message), else: failure)
            }
        }
    }

    private func send(on connection: UpstreamConnection) {
        self.connection = connection
        phase = .waitingHead
        sentAt = .now()
        deadline = sentAt + TimeAmount(settings.responseTimeout)
        connection.send(head: request.head, body: request.body, delegate: self)
    }

    private func connectFailure(_ error: any Error) -> GatewayError {
        let place = "channel '\(request.channel.name)' (\(request.endpoint))"
        if case ChannelError.connectTimeout = error {
            return .gatewayTimeout("timed out connecting to \(place)")
        }
        return .badGateway("could not connect to \(place): \(error)", code: "upstream_unreachable")
    }

    // MARK: Receiving

    func upstreamHead(_ head: HTTPResponseHead) {
        guard phase == .waitingHead else { return }
        responseHead = head
        client.markFirstByte()
        let success = (200..<300).contains(Int(head.status.code))
        billable = success
        if success, let lease = request.lease {
            let now = NIODeadline.now()
            lease.report(.success(latency: .nanoseconds((now - sentAt).nanoseconds),
                                  limits: RateLimitInfo.parse(head.headers.lazy.map { ($0.name, $0.value) })), now: now)
        }
        let isEventStream = head.headers.first(name: "content-type")?.lowercased().hasPrefix("text/event-stream") ?? false
        switch request.mode {
        case .passthrough(let strip) where success && isEventStream:
            meter = OpenAIStreamMeter(stripUsageChunk: strip)
            phase = .streaming
            client.writeHead(status: head.status, headers: clientHeaders(from: head.headers, bufferedLength: nil))
        case .plugin(let channel) where success && request.clientWantsStream:
            do {
                pluginStream = try channel.makeStream(operation: request.operation, dialect: request.dialect, model: request.model,
                                                      headers: head.headers.map { ($0.name.lowercased(), $0.value) },
                                                      includeUsage: request.clientIncludeUsage,
                                                      requestBody: request.clientBody)
            } catch {
                return abort(before: .badGateway("\(channel.plugin.name) cannot read the stream: \(error.message)"))
            }
            startConvertedStream()
        case .template(let channel) where success && request.clientWantsStream:
            templateStream = channel.makeStream(model: request.model, includeUsage: request.clientIncludeUsage)
            startConvertedStream()
        default:
            phase = .buffering
            // Sized from content-length, but a claimed size never reserves more than 1 MiB up front.
            let announced = head.headers.first(name: "content-length").flatMap(Int.init) ?? 4096
            buffered = client.allocator.buffer(capacity: min(max(announced, 0), 1 << 20))
        }
        deadline = .now() + TimeAmount(settings.readTimeout)
    }

    /// The head of a stream the gateway converts to OpenAI SSE.
    private func startConvertedStream() {
        phase = .streaming
        var headers = HTTPHeaders([("content-type", "text/event-stream"), ("cache-control", "no-cache")])
        client.addGatewayHeaders(&headers, channel: request.channel.name)
        client.writeHead(status: .ok, headers: headers)
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        deadline = .now() + TimeAmount(settings.readTimeout)
        switch phase {
        case .streaming:
            if let stream = pluginStream {
                let (out, error) = buffer.withUnsafeReadableBytes { stream.feed($0) }
                streamedText.read(out)
                if !out.isEmpty && !clientGone { client.writeBody(out) }
                usage.set(stream.currentUsage)
                if let error { return endStream(error: "\(stream.plugin.name): \(error.message)", closeUpstream: true) }
            } else if let stream = templateStream {
                let (out, error) = buffer.withUnsafeReadableBytes { stream.feed($0) }
                streamedText.read(out)
                if !out.isEmpty && !clientGone { client.writeBody(out) }
                usage.set(stream.usage)
                if let error { return endStream(error: "channel '\(request.channel.name)': \(error)", closeUpstream: true) }
            } else {
                forwardPassthrough(buffer)
            }
            if !clientGone && !client.isWritable { connection?.setReading(false) }  // the client reads slower: hold the upstream
        case .buffering:
            var chunk = buffer
            guard (buffered?.readableBytes ?? 0) + chunk.readableBytes <= maxResponseBytes else {
                return abort(before: .badGateway("upstream answer is larger than max_response_bytes (\(maxResponseBytes))",
                                                 code: "upstream_response_too_large"))
            }
            buffered?.writeBuffer(&chunk)
        default:
            break
        }
    }

    private func forwardPassthrough(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { streamedText.read($0) }
        do {
            let rewritten = try buffer.withUnsafeReadableBytes { try meter?.read($0) }
            if clientGone {
                // read for usage only
            } else if let rewritten {
                if !rewritten.isEmpty { client.writeBody(rewritten) }
            } else {
                client.writeBody(buffer)
            }
            if let counted = meter?.usage { usage.set(counted) }
        } catch {
            endStream(error: "upstream sent an SSE event larger than the gateway accepts", closeUpstream: true)
        }
    }

    func upstreamEnd() {
        connection = nil
        switch phase {
        case .streaming:
            if let stream = pluginStream {
                let (out, error) = stream.finish()
                if !out.isEmpty && !clientGone { client.writeBody(out) }
                usage.set(stream.currentUsage)
                if let error { return endStream(error: "\(stream.plugin.name): \(error.message)", closeUpstream: false) }
            } else if let stream = templateStream {
                let (out, error) = stream.finish()
                if !out.isEmpty && !clientGone { client.writeBody(out) }
                usage.set(stream.usage)
                if let error { return endStream(error: "channel '\(request.channel.name)': \(error)", closeUpstream: false) }
            } else if let meter, meter.hasPartialEvent {
                // A held-back partial event (strip mode) is the gateway's to report; otherwise the
                // client's translator, which saw the same bytes, closes its stream with the error.
                request.lease?.report(.streamBroken(StreamTail.cutMessage))
                if meter.stripUsageChunk {
                    client.writeStreamError(.badGateway(StreamTail.cutMessage, code: "upstream_stream_truncated"))
                }
            }
            finish(status: Int(responseHead?.status.code ?? 200)) { client.writeEnd() }
        case .buffering:
            deliverBuffered()
        default:
            break
        }
    }

    /// Sends a complete answer: as is for passthrough, converted by the plugin otherwise.
    private func deliverBuffered() {
        guard let head = responseHead else { return }
        let body = buffered ?? client.allocator.buffer(capacity: 0)
        let status = Int(head.status.code)
        if !(200..<300).contains(status), let lease = request.lease {
            let outcome = AttemptOutcome.classify(status: status, headers: head.headers.map { ($0.name, $0.value) },
                                                  body: Array(buffer: body), model: lease.model,
                                                  apiVersion: request.channel.sentAPIVersion)
            lease.report(outcome)
            if outcome.isRetryable && handOver() { return }
            if case .requestError = outcome, UpstreamErrorInfo.isContextWindowError(status: status, body: Array(buffer: body)),
               handOver(contextWindow: true) { return }
        }
        switch request.mode {
        case .passthrough:
            if (200..<300).contains(Int(head.status.code)) {
                let found = body.withUnsafeReadableBytes { RequestScan.members(["usage", "service_tier"], in: $0) }
                if let counted = found["usage"].flatMap(TokenUsage.init(openAI:)) { usage.set(counted) }
                if BillingMarks.servedPriority(found["service_tier"]) { client.servedPriority() }
            }
            client.settle(finalUsage())
            let headers = clientHeaders(from: head.headers, bufferedLength: body.readableBytes)
            finish(status: Int(head.status.code)) { client.writeComplete(status: head.status, headers: headers, body: body) }
        case .plugin(let channel):
            let upstreamHeaders = head.headers.map { ($0.name.lowercased(), $0.value) }
            do {
                let converted = try channel.convertResponse(operation: request.operation, dialect: request.dialect,
                                                            status: Int(head.status.code),
                                                            headers: upstreamHeaders, body: Array(buffer: body), model: request.model,
                                                            requestBody: request.clientBody)
                usage.set(converted.usage)
                client.settle(finalUsage())
                var headers = HTTPHeaders([("content-type", "application/json")])
                // A converted answer keeps the upstream's advice on when to retry.
                for (name, value) in head.headers where name.equalsIgnoringASCIICase("retry-after")
                    || name.equalsIgnoringASCIICase("retry-after-ms") {
                    headers.add(name: name, value: value)
                }
                client.addGatewayHeaders(&headers, channel: request.channel.name)
                let status = HTTPResponseStatus(statusCode: converted.status)
                finish(status: converted.status) {
                    client.writeComplete(status: status, headers: headers, body: client.allocator.buffer(bytes: converted.body))
                }
            } catch {
                fail(before: .badGateway("\(channel.plugin.name) could not read the upstream answer (HTTP \(head.status.code)): \(error.message)"))
            }
        case .template(let channel):
            do {
                let converted = request.operation == TOLLGATE_OPERATION_EMBEDDINGS
                    ? try channel.convertEmbeddings(status: Int(head.status.code), body: Array(buffer: body), model: request.model)
                    : try channel.convertAnswer(status: Int(head.status.code), body: Array(buffer: body), model: request.model)
                usage.set(converted.usage)
                client.settle(finalUsage())
                var headers = HTTPHeaders([("content-type", "application/json")])
                for (name, value) in head.headers where name.equalsIgnoringASCIICase("retry-after") { headers.add(name: name, value: value) }
                client.addGatewayHeaders(&headers, channel: request.channel.name)
                finish(status: converted.status) {
                    client.writeComplete(status: HTTPResponseStatus(statusCode: converted.status), headers: headers,
                                         body: client.allocator.buffer(bytes: converted.body))
                }
            } catch {
                fail(before: .badGateway(error.message, code: "template_mapping_error"))
            }
        }
    }

    func upstreamFailed(_ error: any Error, receivedAnything: Bool) {
        let reusedConnection = connection?.reused ?? false
        connection = nil
        switch phase {
        case .waitingHead where !receivedAnything && reusedConnection && attempts < 2:
            start(freshConnection: true)  // the pooled connection had been closed by the upstream
        case .connecting, .waitingHead, .buffering:
            let cause = error as? ChannelError == .eof ? "" : " (\(error))"
            let failure = GatewayError.badGateway("channel '\(request.channel.name)' closed the connection before the answer was complete\(cause)",
                                                  code: "upstream_disconnected")
            failed(.streamBroken(failure.message), else: failure)
        case .streaming:
            endStream(error: "channel '\(request.channel.name)' closed the connection mid-stream", closeUpstream: false)
        case .finished:
            break
        }
    }

    // MARK: Ending

    /// The client went away: the one place a hang-up is handled. Before the request was sent the
    /// attempt is dropped. After, by default (`on_client_disconnect: cancel`) the upstream request
    /// is closed at once and billed with what it reported so far, or an estimate; with `drain`
    /// the answer is read to its end (unwritten) for the upstream's own usage. A hang-up says
    /// nothing about the channel's health: the lease is given back unreported.
    func clientClosed() {
        guard phase != .finished else { return }
        guard phase != .connecting else {
            connection?.abandon()
            connection = nil
            return finish(status: 499) {}
        }
        clientGone = true
        if phase == .waitingHead { billable = true }  // the upstream is working on it
        switch client.runtime.limits.onClientDisconnect {
        case .cancel:
            connection?.abandon()
            connection = nil
            finish(status: 499) {}
        case .drain:
            retainedClient = client  // the handler is leaving its pipeline; keep it until the ledger has the record
            connection?.setReading(true)
        }
    }

    func resumeUpstream() { connection?.setReading(true) }

    /// Ends a started stream with an error event in the client's dialect.
    private func endStream(error message: String, closeUpstream: Bool) {
        if closeUpstream { connection?.abandon(); connection = nil }
        if phase != .finished { request.lease?.report(.streamBroken(message)) }
        client.writeStreamError(.badGateway(message, code: "upstream_stream_error"))
        finish(status: 502) { client.writeEnd() }
    }

    /// Fails before anything reached the client: it gets a complete error response.
    private func fail(before error: GatewayError) {
        finish(status: error.status) { client.writeError(error) }
    }

    /// An attempt failed before anything reached the client: health hears it, and the request
    /// moves to another channel when one can take it; else the client gets `error`.
    private func failed(_ outcome: AttemptOutcome, else error: GatewayError) {
        guard phase != .finished else { return }
        request.lease?.report(outcome)
        if handOver() { return }
        fail(before: error)
    }

    /// Gives the request to the next channel (failover), or with `contextWindow` to its next
    /// `context_window_fallbacks` model; true when one took it. This attempt then ends without a
    /// word to the client.
    private func handOver(contextWindow: Bool = false) -> Bool {
        guard !clientGone, phase != .finished else { return false }
        connection?.abandon()
        connection = nil
        request.lease?.end()
        let previous = phase
        phase = .finished
        pool.unwatch(self)
        if client.failover(from: self, contextWindow: contextWindow) { return true }
        phase = previous
        pool.watch(self)
        return false
    }

    /// Fails mid-read: closes the upstream connection first.
    private func abort(before error: GatewayError) {
        connection?.abandon()
        connection = nil
        fail(before: error)
    }

    private func finish(status: Int, _ write: () -> Void) {
        guard phase != .finished else { return }
        phase = .finished
        pool.unwatch(self)
        client.upstreamNanos = (NIODeadline.now() - sentAt).nanoseconds
        request.lease?.end()
        if BillingMarks.servedPriority(meter?.servedTier) { client.servedPriority() }
        if !clientGone { write() }
        client.exchangeFinished(status: clientGone ? 499 : status, channel: request.channel.name, usage: finalUsage())
        retainedClient = nil
    }

    /// The usage to bill: what the upstream reported, completed by an estimate when it took the
    /// request on but reported nothing (or no completion) before the end. Counting tokens uses
    /// none, so it is never estimated.
    private func finalUsage() -> TokenUsage {
        let reported = usage.current
        let chat = request.operation == TOLLGATE_OPERATION_CHAT
        guard billable, request.operation != TOLLGATE_OPERATION_COUNT_TOKENS,
              reported.prompt == nil || chat && reported.completion == nil else { return reported }
        var text = streamedText
        if chat, let buffered { buffered.withUnsafeReadableBytes { text.read($0) } }
        return UsageEstimate.complete(reported, promptBytes: request.body.readableBytes, completionTextBytes: text.bytes, chat: chat)
    }

    // MARK: Timeouts

    /// Called by the loop's sweep once `deadline` has passed.
    func deadlinePassed() {
        switch phase {
        case .connecting, .waitingHead:
            connection?.abandon()
            connection = nil
            let failure = GatewayError.gatewayTimeout("channel '\(request.channel.name)' sent no answer within \(settings.responseTimeout)")
            failed(phase == .connecting ? .unreachable(failure.message) : .timeout(failure.message), else: failure)
        case .streaming:
            endStream(error: "channel '\(request.channel.name)' went silent for \(settings.readTimeout)", closeUpstream: true)
        case .buffering:
            request.lease?.report(.timeout("channel '\(request.channel.name)' stalled mid-answer"))
            abort(before: .gatewayTimeout("channel '\(request.channel.name)' stalled mid-answer for \(settings.readTimeout)"))
        case .finished:
            break
        }
    }

    // MARK: Headers

    /// Upstream headers a client gets (an allow-list): what reads the body and when to retry.
    /// Cookies, the provider's internal headers (account, organization, rate limits of the
    /// operator's account, processing details) and anything named like the gateway's own
    /// (`x-tollgate-*`) stay behind.
    static let passedToClient = ["content-type", "content-encoding", "cache-control", "retry-after", "retry-after-ms",
                                 "x-should-retry"]
    /// The upstream's request id (OpenAI's `x-request-id`, Anthropic's `request-id`), kept as
    /// `x-upstream-request-id` beside the gateway's own.
    static let upstreamRequestID = ["x-request-id", "request-id"]

    /// The upstream's headers for the client, through `passedToClient`, plus the gateway's own.
    private func clientHeaders(from upstream: HTTPHeaders, bufferedLength: Int?) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(8)
        for (name, value) in upstream {
            if Self.passedToClient.contains(where: { name.equalsIgnoringASCIICase($0) }) {
                headers.add(name: name, value: value)
            } else if Self.upstreamRequestID.contains(where: { name.equalsIgnoringASCIICase($0) }) {
                headers.add(name: "x-upstream-request-id", value: value)
            }
        }
        if let bufferedLength { headers.add(name: "content-length", value: String(bufferedLength)) }
        client.addGatewayHeaders(&headers, channel: request.channel.name)
        return headers
    }
}
