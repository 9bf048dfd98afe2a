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
        client.addGatewayHeaders(&headers, channel: channel, model: model)
        if let translator { headers.replaceOrAdd(name: "content-type", value: translator.streamContentType) }
        streamOpen = true
        client.writeHead(status: status, headers: headers)
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
        var headers = answer.headers
        answer.headers = HTTPHeaders()  // the list's only owner is now `headers`: it grows in place
        headers.reserveCapacity(headers.count + UpstreamHeaders.gatewayRoom)  // a no-op for lists built with the room
        client.addGatewayHeaders(&headers, channel: channel, model: model)
        addCostHeaders(&headers)
        if let upstreamNanos {
            let overhead = max((NIODeadline.now() - client.started).nanoseconds - upstreamNanos, 0)
            headers.add(name: "x-tollgate-overhead-ms", value: Self.milliseconds(overhead))
        }
        var body = answer.body
        if let translator {
            body = ByteBuffer(bytes: translator.complete(status: answer.status, body: Array(buffer: body)))
            headers.replaceOrAdd(name: "content-type", value: "application/json")
        }
        headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        client.writeComplete(status: HTTPResponseStatus(statusCode: answer.status), headers: headers, body: body)
    }

    /// Nanoseconds as milliseconds with three decimals ("0.042"), without Foundation's formatter.
    static func milliseconds(_ nanos: Int64) -> String {
        let micros = (nanos + 500) / 1000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
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
}
