import NIOConcurrencyHelpers

/// A span as an OTLP/HTTP receiver decodes it (ids in lowercase hex).
struct ReceivedSpan: Sendable {
    var traceID = ""
    var spanID = ""
    var parentSpanID = ""
    var name = ""
    var kind = 0
    var statusCode = 0
    var attributes: [String: String] = [:]
    var serviceName = ""
}

/// An OTLP/HTTP trace receiver: a mock HTTP server that decodes every posted
/// `ExportTraceServiceRequest` (protobuf, the exporter's default) and answers as told.
final class OTLPReceiver: Sendable {
    let mock: MockUpstream
    private let status: NIOLockedValueBox<Int>
    /// While holding, posts get no answer (an exporter stuck on a slow receiver) until `release`.
    private let held: NIOLockedValueBox<[MockResponder]?>

    private init(mock: MockUpstream, status: NIOLockedValueBox<Int>, held: NIOLockedValueBox<[MockResponder]?>) {
        self.mock = mock
        self.status = status
        self.held = held
    }

    static func start(status: Int = 200, holding: Bool = false) async throws -> OTLPReceiver {
        let box = NIOLockedValueBox(status)
        let held = NIOLockedValueBox<[MockResponder]?>(holding ? [] : nil)
        let mock = try await MockUpstream { _, respond in
            let kept = held.withLockedValue { list -> Bool in
                guard list != nil else { return false }
                list?.append(respond)
                return true
            }
            if !kept { Self.answer(respond, status: box.withLockedValue { $0 }) }
        }
        return OTLPReceiver(mock: mock, status: box, held: held)
    }

    private static func answer(_ respond: MockResponder, status: Int) {
        respond.head(status, [("content-type", "application/x-protobuf"), ("content-length", "0")])
        respond.end()
    }

    /// Answers the held posts, and every later one at once.
    func release() {
        let waiting = held.withLockedValue { list in
            defer { list = nil }
            return list ?? []
        }
        for respond in waiting { Self.answer(respond, status: status.withLockedValue { $0 }) }
    }

    var endpoint: String { mock.baseURL + "/v1/traces" }
    func stop() async { await mock.stop() }

    /// Every span posted so far (bodies that do not decode are skipped; `posts` counts them all).
    var spans: [ReceivedSpan] { mock.requests.flatMap { (try? OTLPDecoder.spans($0.body)) ?? [] } }
    var posts: Int { mock.requests.count }

    /// The spans of one trace once `count` of them arrived (counted, not timed: the minute's
    /// bound only keeps a broken exporter from hanging the test).
    func waitForSpans(trace traceID: String? = nil, count: Int) async -> [ReceivedSpan] {
        for _ in 0..<6000 {
            let found = spans.filter { traceID == nil || $0.traceID == traceID }
            if found.count >= count { return found }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return spans.filter { traceID == nil || $0.traceID == traceID }
    }
}

/// Just enough of the protobuf wire format for `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`.
enum OTLPDecoder {
    struct Malformed: Error {}

    static func spans(_ body: [UInt8]) throws -> [ReceivedSpan] {
        var spans: [ReceivedSpan] = []
        for (field, resourceSpans) in try fields(body[...]) where field == 1 {
            var service = ""
            for (field, value) in try fields(resourceSpans.bytes) {
                if field == 1 {  // Resource
                    for (field, attribute) in try fields(value.bytes) where field == 1 {
                        let (key, text) = try keyValue(attribute.bytes)
                        if key == "service.name" { service = text }
                    }
                } else if field == 2 {  // ScopeSpans
                    for (field, span) in try fields(value.bytes) where field == 2 {
                        var decoded = try self.span(span.bytes)
                        decoded.serviceName = service
                        spans.append(decoded)
                    }
                }
            }
        }
        return spans
    }

    private static func span(_ bytes: ArraySlice<UInt8>) throws -> ReceivedSpan {
        var span = ReceivedSpan()
        for (field, value) in try fields(bytes) {
            switch field {
            case 1: span.traceID = hex(value.bytes)
            case 2: span.spanID = hex(value.bytes)
            case 4: span.parentSpanID = hex(value.bytes)
            case 5: span.name = String(decoding: value.bytes, as: UTF8.self)
            case 6: span.kind = Int(value.number)
            case 9:
                let (key, text) = try keyValue(value.bytes)
                span.attributes[key] = text
            case 15:
                for (field, status) in try fields(value.bytes) where field == 3 { span.statusCode = Int(status.number) }
            default: break
            }
        }
        return span
    }

    /// A KeyValue: its key and its value as text (string, bool, int or double).
    private static func keyValue(_ bytes: ArraySlice<UInt8>) throws -> (String, String) {
        var key = "", text = ""
        for (field, value) in try fields(bytes) {
            if field == 1 { key = String(decoding: value.bytes, as: UTF8.self) }
            if field == 2 {
                for (kind, any) in try fields(value.bytes) {
                    switch kind {
                    case 1: text = String(decoding: any.bytes, as: UTF8.self)
                    case 2: text = any.number != 0 ? "true" : "false"
                    case 3: text = String(Int64(bitPattern: any.number))
                    case 4: text = String(Double(bitPattern: any.number))
                    default: break
                    }
                }
            }
        }
        return (key, text)
    }

    struct Value {
        var number: UInt64 = 0
        var bytes: ArraySlice<UInt8> = []
    }

    /// The fields of a message, in order: varints and fixed ints as numbers, the rest as bytes.
    static func fields(_ bytes: ArraySlice<UInt8>) throws -> [(Int, Value)] {
        var out: [(Int, Value)] = []
        var index = bytes.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.endIndex, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func fixed(_ size: Int) throws -> UInt64 {
            guard bytes.endIndex - index >= size else { throw Malformed() }
            var result: UInt64 = 0
            for offset in 0..<size { result |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
            index += size
            return result
        }
        while index < bytes.endIndex {
            let tag = try varint()
            let field = Int(tag >> 3)
            switch tag & 7 {
            case 0: out.append((field, Value(number: try varint())))
            case 1: out.append((field, Value(number: try fixed(8))))
            case 5: out.append((field, Value(number: try fixed(4))))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.endIndex - index) else { throw Malformed() }
                out.append((field, Value(bytes: bytes[index..<index + Int(length)])))
                index += Int(length)
            default: throw Malformed()
            }
        }
        return out
    }

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
