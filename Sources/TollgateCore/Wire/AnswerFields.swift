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
    enum Framing: Equatable {
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

    /// The most bytes the lines take: their names, separators and the longest framing line
    /// (188 bytes in all) fit in 256, plus the values.
    var room: Int {
        var values = requestID.utf8.count + (channel?.utf8.count ?? 0) + (model?.utf8.count ?? 0) + (overhead?.utf8.count ?? 0)
        if case .priced(let decimal, let currency)? = cost { values += decimal.utf8.count + currency.utf8.count }
        return 256 + values
    }

    /// The lines, each value checked as the answer's own are (a model name is the client's text).
    func write(into cursor: inout HeadCursor) {
        switch framing {
        case .none: break
        case .length(let length):
            cursor.put("content-length: ")
            cursor.put(decimal: length)
            cursor.put("\r\n")
        case .chunked: cursor.put("transfer-encoding: chunked\r\n")
        }
        if close { cursor.put("connection: close\r\n") }
        if !requestID.isEmpty { cursor.putLine("x-request-id: ", requestID) }
        if let channel {
            cursor.putLine("x-tollgate-channel: ", channel)
            if let model { cursor.putLine("x-tollgate-model: ", model) }
        }
        switch cost {
        case nil: break
        case .priced(let decimal, let currency)?:
            cursor.putLine("x-tollgate-cost: ", decimal)
            cursor.putLine("x-tollgate-cost-currency: ", currency)
        case .unpriced?: cursor.put("x-tollgate-cost-status: unpriced\r\n")
        }
        if let overhead { cursor.putLine("x-tollgate-overhead-ms: ", overhead) }
    }
}
