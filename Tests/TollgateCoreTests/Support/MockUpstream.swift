import TollgateShared
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A request the mock upstream received.
struct ReceivedRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var json: JSONValue? { try? JSONParser.parse(body) }
}

/// Writes a response, part by part, from any thread.
struct MockResponder: Sendable {
    let channel: Channel

    func head(_ status: Int, _ headers: [(String, String)]) {
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: HTTPHeaders(headers))
        channel.writeAndFlush(HTTPServerResponsePart.head(head), promise: nil)
    }
    func chunk(_ text: String) { chunk(Array(text.utf8)) }
    func chunk(_ bytes: [UInt8]) {
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))), promise: nil)
    }
    func end() { channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil) }
    func close() { channel.close(promise: nil) }

    /// A complete JSON answer.
    func json(_ status: Int, _ body: String, headers: [(String, String)] = []) {
        head(status, [("content-type", "application/json"), ("content-length", String(body.utf8.count))] + headers)
        chunk(body)
        end()
    }
}

/// An in-process HTTP/1.1 server standing in for a provider; the test decides every answer.
final class MockUpstream: Sendable {
    typealias Responder = @Sendable (ReceivedRequest, MockResponder) -> Void
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    private let received: NIOLockedValueBox<[ReceivedRequest]>

    init(_ respond: @escaping Responder) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let box = NIOLockedValueBox<[ReceivedRequest]>([])
        received = box
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(respond: respond, log: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var port: Int { channel.localAddress?.port ?? 0 }
    var baseURL: String { "http://127.0.0.1:\(port)" }
    var requests: [ReceivedRequest] { received.withLockedValue { $0 } }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        let respond: Responder
        let log: NIOLockedValueBox<[ReceivedRequest]>
        var current: ReceivedRequest?

        init(respond: @escaping Responder, log: NIOLockedValueBox<[ReceivedRequest]>) {
            self.respond = respond
            self.log = log
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                current = ReceivedRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: [])
            case .body(let buffer):
                current?.body.append(contentsOf: buffer.readableBytesView)
            case .end:
                guard let request = current else { return }
                log.withLockedValue { $0.append(request) }
                respond(request, MockResponder(channel: context.channel))
            }
        }
    }
}
