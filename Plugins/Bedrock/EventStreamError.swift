/// Why an event stream could not be read or written. Every decoding failure is final: the
/// stream's framing is lost, so the decoder refuses all later input with the same error.
public enum EventStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The CRC32 of the first 8 bytes does not match the prelude's.
    case preludeChecksumMismatch(expected: UInt32, computed: UInt32)
    /// The CRC32 of the whole frame does not match its last 4 bytes.
    case messageChecksumMismatch(expected: UInt32, computed: UInt32)
    /// The total length is below the 16 bytes of prelude and trailing CRC.
    case messageTooShort(length: Int)
    case messageTooLong(length: Int, limit: Int)
    /// The headers length does not fit in the total length.
    case headersLengthMismatch(headersLength: Int, messageLength: Int)
    case malformedHeader(String)
    /// The stream ended inside a frame.
    case truncated(bufferedBytes: Int)
    /// The encoder was given something the format cannot carry.
    case unencodable(String)
    /// A well-framed message that does not mean what an AWS stream message must.
    case unexpectedMessage(String)

    public var description: String {
        switch self {
        case .preludeChecksumMismatch(let expected, let computed):
            "event stream: prelude CRC32 mismatch (frame says \(Self.hex(expected)), first 8 bytes give \(Self.hex(computed)))"
        case .messageChecksumMismatch(let expected, let computed):
            "event stream: message CRC32 mismatch (frame says \(Self.hex(expected)), its bytes give \(Self.hex(computed)))"
        case .messageTooShort(let length):
            "event stream: message length \(length) is below the 16-byte minimum"
        case .messageTooLong(let length, let limit):
            "event stream: message length \(length) exceeds the \(limit)-byte limit"
        case .headersLengthMismatch(let headersLength, let messageLength):
            "event stream: headers length \(headersLength) does not fit in a \(messageLength)-byte message"
        case .malformedHeader(let reason):
            "event stream: malformed header: \(reason)"
        case .truncated(let bufferedBytes):
            "event stream: the stream ended inside a message (\(bufferedBytes) bytes of an incomplete frame)"
        case .unencodable(let reason):
            "event stream: cannot encode: \(reason)"
        case .unexpectedMessage(let reason):
            "event stream: unexpected message: \(reason)"
        }
    }

    static func hex(_ value: UInt32) -> String {
        let s = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }
}
