import NIOCore
import NIOHTTP1

/// The lines of an answer's head that the gateway writes itself, behind the answer's own headers:
/// its framing, the request id, the channel and model that served a model call, its cost and the
/// gateway's overhead, and `connection: close` when the connection ends with it. They go straight
/// into the buffer: adding each to the header list first cost a growth check, a walk of its name
/// and a scan for the framing headers, a dozen times a request.
struct AnswerFields {
    /// How the body is framed. The writer's alone: a `content-length` or `transfer-encoding` in
    /// an answer's header list is left out, so no answer can carry two framings.
    enum Framing {
        case none
        case length(Int)
        case chunked
    }

    /// What a priced answer says of its cost.
    enum Cost {
        case priced(decimal: String, currency: String)
        case unpriced
    }

    /// Empty for an answer to no request (a head NIO's parser refused).
    var requestID: String
    var framing = Framing.none
    var close = false
    var channel: String?
    var model: String?
    var cost: Cost?
    /// `x-tollgate-overhead-ms`: the gateway's own time, in milliseconds.
    var overhead: String?

    init(requestID: String, close: Bool, channel: String? = nil, model: String? = nil) {
        self.requestID = requestID
        self.close = close
        self.channel = channel
        self.model = model
    }

    /// The framing a status allows: a body's length when it may have one (`length`, nil for a
    /// stream: chunked), none for 1xx, 204 and 304.
    mutating func frame(_ status: HTTPResponseStatus, length: Int?) {
        guard status.mayHaveResponseBody else { return framing = .none }
        framing = length.map(Framing.length) ?? .chunked
    }

    /// Whether a header of an answer's list is one of those only these fields write.
    static func isFraming(_ name: String) -> Bool {
        let count = name.utf8.count
        guard count == 14 || count == 17 else { return false }
        return name.equalsIgnoringASCIICase("content-length") || name.equalsIgnoringASCIICase("transfer-encoding")
    }

    /// The lines, each checked as the answer's own are (a model name is the client's text).
    func write(into buffer: inout ByteBuffer) {
        switch framing {
        case .none: break
        case .length(let length): buffer.writeLine("content-length", digits: length)
        case .chunked: buffer.writeLine("transfer-encoding", "chunked")
        }
        if close { buffer.writeLine("connection", "close") }
        if !requestID.isEmpty { buffer.writeLine("x-request-id", requestID) }
        if let channel {
            buffer.writeLine("x-tollgate-channel", channel)
            if let model { buffer.writeLine("x-tollgate-model", model) }
        }
        switch cost {
        case nil: break
        case .priced(let decimal, let currency)?:
            buffer.writeLine("x-tollgate-cost", decimal)
            buffer.writeLine("x-tollgate-cost-currency", currency)
        case .unpriced?: buffer.writeLine("x-tollgate-cost-status", "unpriced")
        }
        if let overhead { buffer.writeLine("x-tollgate-overhead-ms", overhead) }
    }
}

extension ByteBuffer {
    /// `name: value` and CRLF; nothing when the value holds a byte that would split the head.
    fileprivate mutating func writeLine(_ name: StaticString, _ value: String) {
        guard HTTPHead.isFieldValue(value) else { return }
        writeStaticString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }

    fileprivate mutating func writeLine(_ name: StaticString, digits: Int) {
        writeStaticString(name)
        writeStaticString(": ")
        writeDecimal(digits)
        writeStaticString("\r\n")
    }

    /// A non-negative integer's decimal digits, without making a String of them.
    mutating func writeDecimal(_ value: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = value.magnitude, start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            _ = writeBytes(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: digits[start...])))
        }
    }
}
