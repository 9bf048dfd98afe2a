import NIOCore
import NIOHTTP1

/// The answer, written to the client in its dialect: the translator (when the call was
/// converted) sits between what the exchange reads and what the client gets.
extension ModelCall {
    /// The upstream reported it served the priority tier: bill it so.
    func servedPriority() { routed?.marks.priority = true }

    /// A stream's head: the transducer's headers plus the gateway's own.
    func startStream(status: HTTPResponseStatus, headers: HTTPHeaders, channel: String) {
        var headers = headers
        if let translator { headers.replaceOrAdd(name: "content-type", value: translator.streamContentType) }
        streamOpen = true
        client.writeHead(status: status, headers: headers, fields: client.fields(channel: channel, model: model))
    }

    /// Stream bytes in the internal dialect.
    func writeStream(_ buffer: ByteBuffer) {
        guard let translator else { return client.writeBody(buffer) }
        let out = buffer.withUnsafeReadableBytes { translator.streamChunk($0) }
        if !out.isEmpty { client.writeBody(out) }
    }

    func writeStream(_ bytes: [UInt8]) {
        guard let translator else { return client.writeBody(bytes) }
        let out = bytes.withUnsafeBytes { translator.streamChunk($0) }
        if !out.isEmpty { client.writeBody(out) }
    }

    /// Ends a stream that already started with an error event in the client's dialect.
    func writeStreamError(_ error: GatewayError) {
        if translator != nil || dialect == .openAI {
            writeStream(ClientDialect.openAI.streamErrorEvent(error))  // translated like any event
        } else {
            client.writeBody(dialect.streamErrorEvent(error))
        }
    }

    /// How an attempt's exchange ended, for the client.
    enum AttemptEnding {
        /// The stream it started (`end` closes it).
        case stream
        case answer(CompleteAnswer)
        /// Nothing reached the client yet: a complete error.
        case error(GatewayError)
        /// Nothing to write (the client left before the request was sent).
        case silent
    }

    /// The attempt's exchange ended: what it leaves for the client is written (unless the client
    /// left), then the call ends with `usage`, the reported usage or its estimate.
    func exchangeEnded(_ finished: ProxyExchange, status: Int, channel: String, ending: consuming AttemptEnding, usage: TokenUsage,
                       clientGone: Bool) {
        guard exchange === finished else { return }
        if !clientGone {
            switch consume ending {  // handed on, not copied: the answer's header list is extended in place
            case .answer(let answer): writeAnswer(consume answer, channel: channel, usage: usage)
            case .error(let error): client.writeError(error)
            case .stream, .silent: break
            }
        }
        end(status: status, channel: channel, usage: usage)
    }

    /// A complete answer (priced first, so its head carries the cost), in the client's dialect.
    private func writeAnswer(_ answer: consuming CompleteAnswer, channel: String, usage: TokenUsage) {
        if answer.servedPriority { servedPriority() }
        settle(usage)
        var fields = client.fields(channel: channel, model: model)
        fields.cost = cost
        if let upstreamNanos {
            fields.overhead = Self.milliseconds((NIODeadline.now() - client.started).nanoseconds - upstreamNanos)
        }
        var headers = answer.headers
        var lines = answer.lines
        var body = answer.body
        if let translator {
            answer.headers = HTTPHeaders()  // the list's only owner is now `headers`: it changes in place
            body = ByteBuffer(bytes: translator.complete(status: answer.status, body: Array(buffer: body)))
            var passed = lines.headers  // the upstream's fields first, as they are written
            passed.add(contentsOf: headers)
            headers = passed
            lines = .none
            headers.replaceOrAdd(name: "content-type", value: "application/json")
        }
        client.writeComplete(status: HTTPResponseStatus(statusCode: answer.status), headers: headers, lines: lines, fields: fields, body: body)
    }

    /// Nanoseconds as milliseconds with three decimals ("0.042"), none below zero.
    static func milliseconds(_ nanos: Int64) -> String { Money.decimal((max(nanos, 0) + 500) / 1000, places: 3) }

    /// What a complete answer's head says of its cost: the exact decimal and its currency, or
    /// `unpriced` when it could not be priced; nothing when there was nothing to bill.
    private var cost: AnswerFields.Cost? {
        guard let bill, bill != .unpriced else { return nil }
        guard let cost = bill.cost else { return .unpriced }
        return .priced(decimal: cost.decimal, currency: cost.currency)
    }
}
