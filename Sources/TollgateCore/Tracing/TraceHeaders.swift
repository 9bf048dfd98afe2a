import NIOHTTP1
import Tracing

/// The W3C trace-context headers of a client request, and nothing else: the propagator (and its
/// log lines) never sees the client's other headers, so never its key.
struct TraceHeaders: Sendable {
    var traceparent: String?
    var tracestate: String?

    /// A `traceparent` that is not well formed is dropped here (the request then starts a trace of
    /// its own), with its `tracestate`, which means nothing without it.
    init(_ fields: HeadFields) {
        guard let parent = fields.first("traceparent"), Self.isWellFormed(parent) else { return }
        traceparent = parent
        tracestate = fields.first("tracestate").map { String($0.prefix(Self.maxStateLength)) }
    }

    /// The W3C limit a `tracestate` is cut to (32 members of at most 256 bytes is more than any sender uses).
    static let maxStateLength = 512

    /// `version-traceid-parentid-flags`: 2, 32, 16 and 2 lowercase hex digits; version `ff` and
    /// all-zero ids are invalid. (A later version's extra fields are not read: such a header is dropped.)
    static func isWellFormed(_ value: String) -> Bool {
        let bytes = value.utf8
        guard bytes.count == 55 else { return false }
        let dash = UInt8(ascii: "-")
        for (offset, byte) in bytes.enumerated() {
            guard [2, 35, 52].contains(offset) ? byte == dash : isLowerHex(byte) else { return false }
        }
        let fields = Array(bytes)
        return !fields[0..<2].elementsEqual("ff".utf8)
            && fields[3..<35].contains { $0 != UInt8(ascii: "0") } && fields[36..<52].contains { $0 != UInt8(ascii: "0") }
    }

    private static func isLowerHex(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}

struct TraceHeadersExtractor: Extractor {
    func extract(key: String, from carrier: TraceHeaders) -> String? {
        switch key {
        case "traceparent": carrier.traceparent
        case "tracestate": carrier.tracestate
        default: nil
        }
    }
}

/// Writes the propagated context into an upstream request's headers, replacing any there.
struct UpstreamHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
