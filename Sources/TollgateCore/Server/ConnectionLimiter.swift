import NIOCore
import NIOHTTP1
import Synchronization

/// Caps open client connections, in total (`limits.max_connections`) and per remote address
/// (`limits.max_connections_per_ip`), so a flood of connections cannot take every descriptor.
/// Counted when a connection is accepted and released when it closes; an address is forgotten
/// when its last connection closes, so the table never outgrows the connections open.
final class ConnectionLimiter: Sendable {
    private struct Counts {
        var total = 0
        var perAddress: [String: Int] = [:]
    }

    let maxTotal: Int
    let maxPerAddress: Int?
    private let counts = Mutex(Counts())
    private let refusals = Atomic<Int>(0)

    init(maxTotal: Int, maxPerAddress: Int?) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    /// Takes a place for a connection from `address`, or says why there is none.
    func acquire(_ address: String) -> GatewayError? {
        let refusal = counts.withLock { counts -> GatewayError? in
            guard counts.total < maxTotal else {
                var error = GatewayError.unavailable("the gateway has \(maxTotal) connections open, its limit (limits.max_connections)")
                error.code = "too_many_connections"
                error.headers = [("retry-after", "1")]
                return error
            }
            let fromAddress = counts.perAddress[address, default: 0]
            if let maxPerAddress, fromAddress >= maxPerAddress {
                return .rateLimited("\(maxPerAddress) connections from one address are open, the limit (limits.max_connections_per_ip)",
                                    code: "too_many_connections", retryAfter: .seconds(1))
            }
            counts.total += 1
            counts.perAddress[address] = fromAddress + 1
            return nil
        }
        if refusal != nil { refusals.add(1, ordering: .relaxed) }
        return refusal
    }

    func release(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.perAddress[address, default: 1] - 1
            counts.perAddress[address] = left > 0 ? left : nil
        }
    }

    var open: Int { counts.withLock { $0.total } }
    var refused: Int { refusals.load(ordering: .relaxed) }
}

/// Answers a connection over the limits with one HTTP error and closes it: the answer is written
/// at once (the request is never read), the write side is shut so the client reads it to its end,
/// and whatever the client sends meanwhile is dropped until it closes (at most a second).
final class ConnectionRefusal: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let refusal: GatewayError

    init(_ refusal: GatewayError) { self.refusal = refusal }

    func channelActive(context: ChannelHandlerContext) {
        let body = refusal.body
        var head = "HTTP/1.1 \(refusal.status) \(HTTPResponseStatus(statusCode: refusal.status).reasonPhrase)\r\ncontent-type: application/json\r\n"
        for (name, value) in refusal.headers { head += "\(name): \(value)\r\n" }
        head += "content-length: \(body.count)\r\nconnection: close\r\n\r\n"
        var buffer = context.channel.allocator.buffer(capacity: head.utf8.count + body.count)
        buffer.writeString(head)
        buffer.writeBytes(body)
        let channel = context.channel
        context.writeAndFlush(NIOAny(buffer)).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
        }
        context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
