import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One-shot HTTP requests for plugins (`callback_http_call`), e.g. an OAuth token exchange.
/// Blocking by contract: the host calls it only off the event loops.
final class SideClient: SideHTTPClient {
    let group: MultiThreadedEventLoopGroup
    let tls: NIOSSLContext

    init(group: MultiThreadedEventLoopGroup) throws {
        self.group = group
        tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    func perform(_ request: SideRequest) throws -> SideResponse {
        guard let (endpoint, path) = UpstreamEndpoint.parse(request.url) else { throw Failure(description: "invalid URL \(request.url)") }
        let loop = group.next()
        let promise = loop.makePromise(of: SideResponse.self)
        let collector = Collector(promise: promise)
        let tls = endpoint.tls ? self.tls : nil
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(request.timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: endpoint.host.isIPAddress ? nil : endpoint.host))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(collector)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        connected.whenFailure { promise.fail($0) }
        connected.whenSuccess { channel in
            var headers = HTTPHeaders(request.headers)
            headers.replaceOrAdd(name: "host", value: endpoint.hostHeader)
            headers.replaceOrAdd(name: "content-length", value: String(request.body.count))
            headers.replaceOrAdd(name: "connection", value: "close")
            let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: path, headers: headers)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: request.body))), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            let timeout = loop.scheduleTask(in: TimeAmount(request.timeout)) {
                promise.fail(Failure(description: "no answer within \(request.timeout)"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timeout.cancel(); channel.close(promise: nil) }
        }
        return try promise.futureResult.wait()
    }

    /// Collects one whole response (bounded at 16 MiB).
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<SideResponse>
        var response = SideResponse(status: 0, headers: [], body: [])

        init(promise: EventLoopPromise<SideResponse>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                response.status = Int(head.status.code)
                response.headers = head.headers.map { ($0.name, $0.value) }
            case .body(let buffer):
                guard response.body.count + buffer.readableBytes <= 16 << 20 else {
                    promise.fail(Failure(description: "answer larger than 16 MiB"))
                    return
                }
                response.body.append(contentsOf: buffer.readableBytesView)
            case .end:
                promise.succeed(response)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "connection closed before the answer ended"))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
