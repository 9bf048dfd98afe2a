import NIOCore
import NIOHTTP1

/// Receives one upstream response, part by part, on the server connection's event loop.
protocol UpstreamResponseDelegate: AnyObject {
    func upstreamHead(_ head: AnswerHead)
    func upstreamBody(_ buffer: ByteBuffer)
    func upstreamEnd()
    /// The connection failed or closed before the response ended.
    func upstreamFailed(_ error: any Error, receivedAnything: Bool)
}

/// One pooled HTTP/1.1 connection to an upstream. It carries one exchange at a time and goes back
/// to its loop's pool when a keep-alive response ends. Its request goes out as bytes it writes
/// itself (`HTTPHead`), one buffer and one flush; its answer is read by its own `AnswerParser`.
final class UpstreamConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var parser = AnswerParser()

    let endpoint: UpstreamEndpoint
    private unowned let pool: LoopPool
    private var context: ChannelHandlerContext?
    private var delegate: UpstreamResponseDelegate?
    private var receivedAnything = false
    /// Requests are framed in one reused buffer (see OutputBuffer).
    private var output = OutputBuffer()
    /// When the connection last went idle, for the pool's sweeper.
    var idleSince: NIODeadline = .now()
    /// True once it has served a response (a failure on a reused connection is retried once).
    private(set) var reused = false

    init(endpoint: UpstreamEndpoint, pool: LoopPool) {
        self.endpoint = endpoint
        self.pool = pool
    }

    var channel: Channel? { context?.channel }
    var isActive: Bool { context?.channel.isActive ?? false }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Sends a request whose head carries its framing (`content-length`). Throws, sending
    /// nothing, when the head cannot be written as it is (see `HTTPHead`). `atTickEnd`: flushed
    /// with the loop tick's other sends (a stream's request goes at once: streams wait for nothing).
    func send(head: UpstreamHead, body: ByteBuffer?, delegate: UpstreamResponseDelegate, atTickEnd: Bool) throws(HTTPHead.Invalid) {
        guard let context else { return delegate.upstreamFailed(ChannelError.ioOnClosedChannel, receivedAnything: false) }
        var out = output.take(context.channel.allocator, capacity: HTTPHead.capacity(body: body?.readableBytes ?? 0))
        try HTTPHead.writeRequest(head, into: &out)
        self.delegate = delegate
        receivedAnything = false
        parser.expect(method: head.method)
        let rest = body.flatMap { $0.readableBytes > 0 ? out.coalescing($0) : nil }
        output.keep(out)
        context.write(wrapOutboundOut(out), promise: nil)
        if let rest { context.write(wrapOutboundOut(rest), promise: nil) }
        TickFlush.flush(context, atTickEnd: atTickEnd)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        receivedAnything = true
        do {
            // One part at a time, nothing of the parser held while a delegate runs: the end of an
            // answer may hand this connection a new request before the loop comes back.
            while let part = try parser.next(&buffer) {
                deliver(part, context: context)
                if case .end = part { return }
            }
        } catch {
            failDelegate(error)
            context.close(promise: nil)
        }
    }

    private func deliver(_ part: AnswerParser.Part, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            delegate?.upstreamHead(head)
        case .body(let buffer):
            delegate?.upstreamBody(buffer)
        case .end(let reusable):
            let finished = delegate
            delegate = nil
            reused = true
            if reusable { pool.release(self) } else { context.close(promise: nil) }
            finished?.upstreamEnd()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pool.remove(self)
        do {
            // An answer read to the close ends here; a delegate still waiting heard nothing whole.
            if let part = try parser.finish() { deliver(part, context: context) }
            failDelegate(ChannelError.eof)
        } catch {
            failDelegate(error)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failDelegate(error)
        context.close(promise: nil)
    }

    private func failDelegate(_ error: any Error) {
        guard let failed = delegate else { return }
        delegate = nil
        failed.upstreamFailed(error, receivedAnything: receivedAnything)
    }

    /// Stops delivering to the current delegate and closes (the client went away, or a timeout).
    func abandon() {
        delegate = nil
        context?.close(promise: nil)
    }

    /// Lets go of the request buffer kept for the next request: a streamed answer can hold the
    /// connection for minutes, and an idle stream should cost no more than its state.
    func dropKeptOutput() { output = OutputBuffer() }

    /// True while a request buffer is kept (for tests).
    var keepsOutput: Bool { output.keepsBuffer }

    /// Pauses or resumes reading, so a slow client holds the upstream back instead of memory.
    func setReading(_ on: Bool) {
        guard let channel = context?.channel else { return }
        channel.setOption(ChannelOptions.autoRead, value: on).whenSuccess { if on { channel.read() } }
    }
}
