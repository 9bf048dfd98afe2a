import NIOCore
import NIOHTTP1

/// Answers a request NIO's HTTP parser refused, then lets the decoder close the connection:
/// 431 for headers over the decoder's limits (80 KiB, NIO's default), 400 for anything else.
/// In place of NIO's `HTTPServerProtocolErrorHandler`, which answers 400 to both and with no body.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A response head went out and its end did not yet: no second answer can be written.
    private var responseOpen = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let parserError = error as? HTTPParserError, !responseOpen {
            let refusal: GatewayError = parserError == .headerOverflow
                ? GatewayError(status: 431, type: "invalid_request_error", code: "headers_too_large",
                               message: "request headers are larger than the gateway accepts (80 KiB)")
                : .badRequest("malformed HTTP request: \(parserError)", code: "bad_http_request")
            let body = refusal.body
            let headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.count)),
                                       ("connection", "close")])
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: refusal.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseOpen = true
        case .end: responseOpen = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
