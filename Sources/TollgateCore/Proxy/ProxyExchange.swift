import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// One attempt's trip to an upstream and back, on the client connection's event loop. It moves
/// bytes and watches time; its one transducer reads the answer (passthrough, plugin, template),
/// and its `ModelCall` writes it in the client's dialect. A stream is written chunk by chunk as
/// it arrives; a complete answer is collected (it arrives whole anyway) so its usage is read
/// before its head is sent. Confined to its event loop (hence @unchecked Sendable).
final class ProxyExchange: UpstreamResponseDelegate, @unchecked Sendable {
    private enum Phase { case connecting, waitingHead, streaming, buffering, finished }

    private let call: ModelCall
    private let attempt: UpstreamCall
    private let target: UpstreamRequest.Target
    private let transducer: any AnswerTransducer
    /// This attempt's hold on the channel's health (breaker trial, adaptive slot).
    private let lease: HealthLease?
    private let pool: LoopPool?
    private let settings: UpstreamSettings
    private let maxResponseBytes: Int
    private let promptBytes: Int
    private var phase = Phase.connecting
    private(set) var connection: UpstreamConnection?
    private var connects = 0
    private var responseHead: AnswerHead?
    private var buffered: ByteBuffer?
    /// The usage the answer reported so far.
    private var usage = TokenUsage()
    /// The client hung up (`on_client_disconnect: drain` reads the rest for its usage, unwritten).
    private var clientGone = false
    /// The upstream took the request on (a 2xx head, or a hang-up while it worked on one): what
    /// it served is billed, estimated where it reported nothing (`UsageEstimate`).
    private var billable = false
    /// Generated text seen so far, for that estimate.
    private var streamedText = StreamedText()
    /// When the current wait (for the head, or for the next chunk) times out; checked by the
    /// loop's sweep, so arming it costs no timer.
    private(set) var deadline = NIODeadline.distantFuture
    /// When the request went out (the head's latency and the time spent on the upstream are measured from here).
    private var sentAt = NIODeadline.now()

    init(call: ModelCall, attempt: UpstreamCall, request: UpstreamRequest, lease: HealthLease?, pool: LoopPool?,
         settings: UpstreamSettings, maxResponseBytes: Int) {
        self.call = call
        self.attempt = attempt
        target = request.target
        transducer = request.transducer
        promptBytes = request.sentBytes
        self.lease = lease
        self.pool = pool
        self.settings = settings
        self.maxResponseBytes = maxResponseBytes
    }

    private var channelName: String { attempt.channel.name }

    // MARK: Sending

    func start(freshConnection: Bool = false) {
        connects += 1
        phase = .connecting
        guard case .network(let request) = target, let pool else { return answerLocally() }
        let endpoint = request.endpoint
        if connects == 1 { pool.watch(self) }
        if !freshConnection, let idle = pool.takeIdle(endpoint) { return send(on: idle) }
        pool.connect(endpoint).whenComplete { [self] result in
            guard phase == .connecting else {
                if case .success(let connection) = result { connection.abandon() }
                return
            }
            switch result {
            case .success(let connection): send(on: connection)
            case .failure(let error):
                let failure = connectFailure(error, endpoint: endpoint)
                failed(.unreachable(failure.message), else: failure)
            }
        }
    }

    /// The mock's answer, read like one from the network.
    private func answerLocally() {
        guard case .local(let head, let body) = target else { return }
        phase = .waitingHead
        sentAt = .now()
        upstreamHead(head)
        upstreamBody(body)
        upstreamEnd()
    }

    private func send(on connection: UpstreamConnection) {
        guard case .network(let request) = target else { return }
        self.connection = connection
        phase = .waitingHead
        sentAt = .now()
        deadline = sentAt + settings.responseWait
        do {
            try connection.send(head: call.trace?.upstreamCall(request.head, host: request.endpoint.host) ?? request.head, body: request.body, delegate: self,
                                atTickEnd: !call.wantsStream)
        } catch {
            abort(before: .badGateway("the request for channel '\(channelName)' cannot be sent: \(error)", code: "upstream_request_invalid"))
        }
    }

    private func connectFailure(_ error: any Error, endpoint: UpstreamEndpoint) -> GatewayError {
        let place = "channel '\(channelName)' (\(endpoint))"
        if case ChannelError.connectTimeout = error {
            return .gatewayTimeout("timed out connecting to \(place)")
        }
        return .badGateway("could not connect to \(place): \(error)", code: "upstream_unreachable")
    }

    // MARK: Receiving

    func upstreamHead(_ head: AnswerHead) {
        guard phase == .waitingHead else { return }
        responseHead = head
        call.trace?.upstreamAnswered(status: head.code)
        call.markFirstByte()
        let success = (200..<300).contains(head.code)
        billable = success
        if success, let lease {
            let now = NIODeadline.now()
            lease.report(.success(latency: .nanoseconds((now - sentAt).nanoseconds),
                                  limits: attempt.channel.successLimits(head.fields, model: lease.model)), now: now)
        }
        if success && transducer.streams(head) {
            let headers: HTTPHeaders
            do {
                headers = try transducer.startStream(head)
            } catch {
                return abort(before: error)
            }
            phase = .streaming
            connection?.dropKeptOutput()
            call.startStream(status: head.status, headers: headers, channel: channelName)
        } else {
            phase = .buffering  // the first chunk is kept as it came: most answers arrive in one
        }
        deadline = .now() + settings.readWait
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        deadline = .now() + settings.readWait
        switch phase {
        case .streaming:
            let (out, error) = transducer.feed(buffer)
            if let out {
                out.withUnsafeBytes { streamedText.read($0) }
                if !out.isEmpty && !clientGone { call.writeStream(out) }
            } else if error == nil {
                buffer.withUnsafeReadableBytes { streamedText.read($0) }
                if !clientGone { call.writeStream(buffer) }
            }
            usage = transducer.streamUsage
            if let error { return endStream(error: error, closeUpstream: true) }
            if !clientGone && !call.client.isWritable { connection?.setReading(false) }  // the client reads slower: hold the upstream
        case .buffering:
            var chunk = buffer
            guard (buffered?.readableBytes ?? 0) + chunk.readableBytes <= maxResponseBytes else {
                return abort(before: .badGateway("upstream answer is larger than max_response_bytes (\(maxResponseBytes))",
                                                 code: "upstream_response_too_large"))
            }
            if buffered == nil { buffered = chunk } else { buffered!.writeBuffer(&chunk) }
        default:
            break
        }
    }

    func upstreamEnd() {
        connection = nil
        switch phase {
        case .streaming:
            let close = transducer.finishStream()
            usage = transducer.streamUsage
            switch close {
            case .clean(let out):
                if !out.isEmpty && !clientGone { call.writeStream(out) }
            case .failed(let out, let message):
                if !out.isEmpty && !clientGone { call.writeStream(out) }
                return endStream(error: message, closeUpstream: false)
            case .truncated(let notify):
                // A held-back partial event is the gateway's to report; otherwise the client's
                // translator, which saw the same bytes, closes its stream with the error.
                lease?.report(.streamBroken(StreamTail.cutMessage))
                if notify && !clientGone {
                    call.writeStreamError(.badGateway(StreamTail.cutMessage, code: "upstream_stream_truncated"))
                }
            }
            finish(status: responseHead?.code ?? 200, .stream)
        case .buffering:
            deliverBuffered()
        default:
            break
        }
    }

    /// A complete answer: an error first tells health (and may move the call to another channel),
    /// then the transducer reads it for the client.
    private func deliverBuffered() {
        guard let head = responseHead else { return }
        let body = buffered ?? ByteBuffer()
        let status = head.code
        if !(200..<300).contains(status), let lease {
            let (outcome, contextWindow) = attempt.channel.classify(status: status, headers: Array(head.fields),
                                                                    body: Array(buffer: body), model: lease.model)
            lease.report(outcome)
            if outcome.isRetryable && handOver() { return }
            if case .requestError = outcome, contextWindow, handOver(contextWindow: true) { return }
        }
        do {
            let answer = try transducer.complete(head, body: body)
            usage = answer.usage
            let answerStatus = answer.status
            finish(status: answerStatus, .answer(consume answer))  // handed on, so its header list has one owner
        } catch {
            finish(status: error.status, .error(error))
        }
    }

    func upstreamFailed(_ error: any Error, receivedAnything: Bool) {
        let reusedConnection = connection?.reused ?? false
        connection = nil
        switch phase {
        case .waitingHead where !receivedAnything && reusedConnection && connects < 2:
            start(freshConnection: true)  // the pooled connection had been closed by the upstream
        case .connecting, .waitingHead, .buffering:
            let cause = error as? ChannelError == .eof ? "" : " (\(error))"
            let failure = if let unreadable = error as? AnswerParser.Failure {
                // The reason only: an upstream's own bytes are not repeated to the client.
                GatewayError.badGateway("channel '\(channelName)' sent an answer the gateway cannot read: \(unreadable.reason)",
                                        code: "upstream_bad_answer")
            } else {
                GatewayError.badGateway("channel '\(channelName)' closed the connection before the answer was complete\(cause)",
                                        code: "upstream_disconnected")
            }
            failed(.streamBroken(failure.message), else: failure)
        case .streaming:
            endStream(error: "channel '\(channelName)' closed the connection mid-stream", closeUpstream: false)
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
            return finish(status: 499, .silent)
        }
        clientGone = true
        if phase == .waitingHead { billable = true }  // the upstream is working on it
        switch call.runtime.limits.onClientDisconnect {
        case .cancel:
            connection?.abandon()
            connection = nil
            finish(status: 499, .silent)
        case .drain:
            connection?.setReading(true)
        }
    }

    func resumeUpstream() { connection?.setReading(true) }

    /// Ends a started stream with an error event in the client's dialect.
    private func endStream(error message: String, closeUpstream: Bool) {
        if closeUpstream { connection?.abandon(); connection = nil }
        if phase != .finished { lease?.report(.streamBroken(message)) }
        if !clientGone { call.writeStreamError(.badGateway(message, code: "upstream_stream_error")) }
        finish(status: 502, .stream)
    }

    /// An attempt failed before anything reached the client: health hears it, and the request
    /// moves to another channel when one can take it; else the client gets `error`.
    private func failed(_ outcome: AttemptOutcome, else error: GatewayError) {
        guard phase != .finished else { return }
        lease?.report(outcome)
        if handOver() { return }
        finish(status: error.status, .error(error))
    }

    /// Gives the request to the next channel (failover), or with `contextWindow` to its next
    /// `context_window_fallbacks` model; true when one took it. This attempt then ends without a
    /// word to the client.
    private func handOver(contextWindow: Bool = false) -> Bool {
        guard !clientGone, phase != .finished else { return false }
        connection?.abandon()
        connection = nil
        lease?.end()
        let previous = phase
        phase = .finished
        pool?.unwatch(self)
        if call.failover(from: self, contextWindow: contextWindow) { return true }
        phase = previous
        pool?.watch(self)
        return false
    }

    /// Fails mid-read: closes the upstream connection first.
    private func abort(before error: GatewayError) {
        connection?.abandon()
        connection = nil
        finish(status: error.status, .error(error))
    }

    private func finish(status: Int, _ ending: consuming ModelCall.AttemptEnding) {
        guard phase != .finished else { return }
        phase = .finished
        pool?.unwatch(self)
        call.upstreamNanos = (NIODeadline.now() - sentAt).nanoseconds
        lease?.end()
        if BillingMarks.servedPriority(transducer.servedTier) { call.servedPriority() }
        call.exchangeEnded(self, status: clientGone ? 499 : status, channel: channelName, ending: consume ending, usage: finalUsage(),
                           clientGone: clientGone)
    }

    /// The usage to bill: what the upstream reported, completed by an estimate when it took the
    /// request on but reported nothing (or no completion) before the end. Counting tokens uses
    /// none, so it is never estimated.
    private func finalUsage() -> TokenUsage {
        let chat = attempt.operation == TOLLGATE_OPERATION_CHAT
        guard billable, attempt.operation != TOLLGATE_OPERATION_COUNT_TOKENS,
              usage.prompt == nil || chat && usage.completion == nil else { return usage }
        var text = streamedText
        if chat, let buffered { buffered.withUnsafeReadableBytes { text.read($0) } }
        return UsageEstimate.complete(usage, promptBytes: promptBytes, completionTextBytes: text.bytes, chat: chat)
    }

    // MARK: Timeouts

    /// Called by the loop's sweep once `deadline` has passed.
    func deadlinePassed() {
        switch phase {
        case .connecting, .waitingHead:
            connection?.abandon()
            connection = nil
            let failure = GatewayError.gatewayTimeout("channel '\(channelName)' sent no answer within \(settings.responseTimeout)")
            failed(phase == .connecting ? .unreachable(failure.message) : .timeout(failure.message), else: failure)
        case .streaming:
            endStream(error: "channel '\(channelName)' went silent for \(settings.readTimeout)", closeUpstream: true)
        case .buffering:
            lease?.report(.timeout("channel '\(channelName)' stalled mid-answer"))
            abort(before: .gatewayTimeout("channel '\(channelName)' stalled mid-answer for \(settings.readTimeout)"))
        case .finished:
            break
        }
    }
}
