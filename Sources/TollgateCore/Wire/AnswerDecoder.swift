import NIOCore
import NIOHTTP1

/// NIO's HTTP response parser (llhttp) without its outbound half. Plain `HTTPResponseDecoder`
/// watches request writes (to know a HEAD answer has no body), which makes every request part
/// pass through it as a typed message; the gateway writes its requests as bytes, so it tells the
/// parser about each request itself (`expect`).
struct AnswerDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    let parser = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)

    /// A request went out: its answer is parsed next (in order, as HTTP/1.1 answers come).
    func expect(_ request: UpstreamHead) { parser.write(data: .head(request.requestForDecoder)) }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        try parser.decode(context: context, buffer: &buffer)
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try parser.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }

    mutating func decoderAdded(context: ChannelHandlerContext) { parser.decoderAdded(context: context) }
    mutating func decoderRemoved(context: ChannelHandlerContext) { parser.decoderRemoved(context: context) }
}
