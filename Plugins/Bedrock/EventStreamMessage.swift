/// One message of an AWS event stream (`application/vnd.amazon.eventstream`): typed headers
/// and an opaque payload.
public struct EventStreamMessage: Sendable, Hashable {
    /// Header names are unique here; if a frame repeats one, the later value wins.
    public var headers: [String: EventStreamHeaderValue]
    public var payload: [UInt8]

    public init(headers: [String: EventStreamHeaderValue] = [:], payload: [UInt8] = []) {
        self.headers = headers
        self.payload = payload
    }

    /// A string header's value; nil when absent or of another type.
    public func string(_ name: String) -> String? {
        if case .string(let s)? = headers[name] { return s }
        return nil
    }
}

/// A header value with its wire type (the type byte in parentheses).
public enum EventStreamHeaderValue: Sendable, Hashable {
    /// (0) true, (1) false: no value bytes.
    case bool(Bool)
    /// (2) one signed byte.
    case byte(Int8)
    /// (3)
    case int16(Int16)
    /// (4)
    case int32(Int32)
    /// (5)
    case int64(Int64)
    /// (6) at most 65535 bytes.
    case bytes([UInt8])
    /// (7) UTF-8, at most 65535 bytes.
    case string(String)
    /// (8) milliseconds since the Unix epoch.
    case timestamp(Int64)
    /// (9)
    case uuid(EventStreamUUID)

    var typeCode: UInt8 {
        switch self {
        case .bool(let b): b ? 0 : 1
        case .byte: 2
        case .int16: 3
        case .int32: 4
        case .int64: 5
        case .bytes: 6
        case .string: 7
        case .timestamp: 8
        case .uuid: 9
        }
    }
}

/// A UUID header value: 16 raw bytes, kept as two big-endian halves so it stays a plain value.
public struct EventStreamUUID: Sendable, Hashable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Nil unless exactly 16 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let all = Array(bytes)
        high = all[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
        low = all[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }
}
