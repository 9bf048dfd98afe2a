/// Builds event-stream frames with correct lengths and CRCs: for tests and mock upstreams that
/// must speak like Bedrock or SageMaker.
public enum EventStreamEncoder {
    /// Encodes headers in the given order.
    public static func encode(headers: [(String, EventStreamHeaderValue)], payload: [UInt8]) throws(EventStreamError) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers { try appendHeader(name, value, to: &headerBytes) }
        let total = EventStreamDecoder.minimumMessageLength + headerBytes.count + payload.count
        guard total <= Int(UInt32.max) else { throw .unencodable("a \(total)-byte message exceeds the 4 GiB the length field holds") }

        var frame: [UInt8] = []
        frame.reserveCapacity(total)
        append(UInt32(total), to: &frame)
        append(UInt32(headerBytes.count), to: &frame)
        append(CRC32.checksum(frame), to: &frame)
        frame += headerBytes
        frame += payload
        append(CRC32.checksum(frame), to: &frame)
        return frame
    }

    /// Encodes a message with its headers sorted by name, so the same message always gives the
    /// same bytes.
    public static func encode(_ message: EventStreamMessage) throws(EventStreamError) -> [UInt8] {
        let sorted = message.headers.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return try encode(headers: sorted.map { ($0.key, $0.value) }, payload: message.payload)
    }

    static func appendHeader(_ name: String, _ value: EventStreamHeaderValue, to out: inout [UInt8]) throws(EventStreamError) {
        let nameBytes = Array(name.utf8)
        guard (1...255).contains(nameBytes.count) else {
            throw .unencodable("header name \"\(name)\" must be 1 to 255 bytes, not \(nameBytes.count)")
        }
        out.append(UInt8(nameBytes.count))
        out += nameBytes
        out.append(value.typeCode)
        switch value {
        case .bool: break
        case .byte(let v): out.append(UInt8(bitPattern: v))
        case .int16(let v): appendBigEndian(UInt64(UInt16(bitPattern: v)), width: 2, to: &out)
        case .int32(let v): append(UInt32(bitPattern: v), to: &out)
        case .int64(let v), .timestamp(let v): appendBigEndian(UInt64(bitPattern: v), width: 8, to: &out)
        case .bytes(let v): try appendVariable(v, name: name, to: &out)
        case .string(let v): try appendVariable(Array(v.utf8), name: name, to: &out)
        case .uuid(let v): out += v.bytes
        }
    }

    private static func appendVariable(_ bytes: [UInt8], name: String, to out: inout [UInt8]) throws(EventStreamError) {
        guard bytes.count <= Int(UInt16.max) else {
            throw .unencodable("header \(name)'s value is \(bytes.count) bytes; at most 65535 fit")
        }
        appendBigEndian(UInt64(bytes.count), width: 2, to: &out)
        out += bytes
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        appendBigEndian(UInt64(value), width: 4, to: &out)
    }

    private static func appendBigEndian(_ value: UInt64, width: Int, to out: inout [UInt8]) {
        for i in stride(from: width - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }
}
