import TollgateShared
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A response as a test sees it.
struct TestResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSONValue? { try? JSONParser.parse(body) }
}

/// A minimal HTTP/1.1 client whose response parts can be awaited one by one, so a test can
/// observe a stream's first event before the next exists.
final class TestClient: Sendable {
    enum Part: Sendable { case head(Int, [(String, String)]), body([UInt8]), end }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    func shutdown() async { try? await group.shutdownGracefully() }

    /// Sends a request; returns the parts as they arrive.
    func send(port: Int, method: String = "POST", path: String, headers: [(String, String)] = [],
              body: [UInt8] = []) async throws -> AsyncThrowingStream<Part, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Part, any Error>.makeStream()
        var all = HTTPHeaders(headers)
        all.replaceOrAdd(name: "host", value: "127.0.0.1:\(port)")
        all.replaceOrAdd(name: "content-length", value: String(body.count))
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: all)
        // The request is written on the event loop as soon as the connection is up, not after the
        // awaiting task resumes: on a loaded machine that task can wait past the gateway's
        // `request_timeout`, and the gateway rightly closes a connection that stayed silent so long
        // (the "I/O on closed channel" failures of issue 13).
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Forward 1xx heads so tests can see `100 Continue`.
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(
                        HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .forward)))
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation: continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .flatMap { channel in
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
                return channel.writeAndFlush(HTTPClientRequestPart.end(nil)).map { channel }
            }
            .get()
        continuation.onTermination = { _ in channel.close(promise: nil) }
        return stream
    }

    /// Sends a request and collects the whole response.
    func fetch(port: Int, method: String = "POST", path: String, headers: [(String, String)] = [],
               body: [UInt8] = []) async throws -> TestResponse {
        var response = TestResponse(status: 0, headers: [], body: [])
        for try await part in try await send(port: port, method: method, path: path, headers: headers, body: body) {
            switch part {
            case .head(let status, let h): response.status = status; response.headers = h
            case .body(let bytes): response.body += bytes
            case .end: return response
            }
        }
        return response
    }

    func fetch(port: Int, path: String, key: String, json: String) async throws -> TestResponse {
        try await fetch(port: port, path: path, headers: [("authorization", "Bearer \(key)"), ("content-type", "application/json")],
                        body: Array(json.utf8))
    }

    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let continuation: AsyncThrowingStream<Part, any Error>.Continuation
        init(continuation: AsyncThrowingStream<Part, any Error>.Continuation) { self.continuation = continuation }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): continuation.yield(.head(Int(head.status.code), head.headers.map { ($0.name, $0.value) }))
            case .body(let buffer): continuation.yield(.body(Array(buffer.readableBytesView)))
            case .end:
                continuation.yield(.end)
                continuation.finish()
                context.close(promise: nil)
            }
        }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { continuation.finish(throwing: error) }
    }
}
