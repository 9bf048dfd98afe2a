import NIOCore
import NIOHTTP1

/// One upstream stream converted to OpenAI SSE as it arrives (a plugin's stream hooks, a
/// template's event mapping).
protocol StreamConverter: AnyObject {
    /// A chunk in (split anywhere); OpenAI SSE bytes out, or the error that ends the stream
    /// (with any bytes made before it).
    func convert(_ chunk: UnsafeRawBufferPointer) -> (out: [UInt8], error: String?)
    /// The body ended: the last bytes, or the error of a stream cut short.
    func finishConversion() -> (out: [UInt8], error: String?)
    /// The usage the stream reported so far.
    var convertedUsage: TokenUsage { get }
}

/// Reads an answer the gateway converts (plugins, templates that do not answer in OpenAI's
/// form): a stream the client asked for through a `StreamConverter`, anything else whole
/// through `convert`. Error messages are prefixed with who converted.
final class ConvertingTransducer: AnswerTransducer {
    /// Who converts, named in a stream's errors (the prefix is written only when one happens).
    enum Converter {
        case plugin(String), channel(String)

        var errorPrefix: String {
            switch self {
            case .plugin(let name): "\(name): "
            case .channel(let name): "channel '\(name)': "
            }
        }
    }

    typealias MakeStream = (AnswerHead) throws(GatewayError) -> any StreamConverter
    typealias Convert = (AnswerHead, ByteBuffer) throws(GatewayError) -> CompleteAnswer

    private let wantsStream: Bool
    private let converter: Converter
    private let makeStream: MakeStream
    private let convert: Convert
    private var stream: (any StreamConverter)?

    init(wantsStream: Bool, converter: Converter, makeStream: @escaping MakeStream, convert: @escaping Convert) {
        self.wantsStream = wantsStream
        self.converter = converter
        self.makeStream = makeStream
        self.convert = convert
    }

    func streams(_ head: AnswerHead) -> Bool { wantsStream }

    func startStream(_ head: AnswerHead) throws(GatewayError) -> HTTPHeaders {
        stream = try makeStream(head)
        return UpstreamHeaders.convertedStream
    }

    func feed(_ chunk: ByteBuffer) -> (out: [UInt8]?, error: String?) {
        guard let stream else { return ([], nil) }
        let (out, error) = chunk.withUnsafeReadableBytes { stream.convert($0) }
        return (out, error.map { converter.errorPrefix + $0 })
    }

    func finishStream() -> StreamClose {
        guard let stream else { return .clean([]) }
        let (out, error) = stream.finishConversion()
        if let error { return .failed(out, converter.errorPrefix + error) }
        return .clean(out)
    }

    var streamUsage: TokenUsage { stream?.convertedUsage ?? TokenUsage() }

    func complete(_ head: AnswerHead, body: ByteBuffer) throws(GatewayError) -> CompleteAnswer {
        try convert(head, body)
    }
}
