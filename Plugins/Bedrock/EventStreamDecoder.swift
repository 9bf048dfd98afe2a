/// An incremental reader of AWS event-stream framing, fed bytes in any split (down to one at a
/// time) and yielding each message as soon as its last byte arrives.
///
/// Frame: total length (u32 BE), headers length (u32 BE), CRC32 of those 8 bytes, headers,
/// payload, CRC32 of everything before it. Memory is bounded: a frame longer than
/// `maxMessageLength` is refused as soon as its prelude arrives, without waiting for its bytes.
public struct EventStreamDecoder: Sendable {
    public static let defaultMaxMessageLength = 16 * 1024 * 1024
    /// Total length, headers length, prelude CRC.
    public static let preludeLength = 12
    /// Prelude plus the trailing message CRC.
    public static let minimumMessageLength = 16

    public let maxMessageLength: Int
    private var buffer: [UInt8] = []
    /// Where the next frame starts in `buffer`; consumed bytes are dropped in batches.
    private var start = 0
    /// The total length of the frame at `start`, once its prelude is checked.
    private var pendingLength: Int?
    private var failure: EventStreamError?

    /// A limit below the 16-byte minimum frame is raised to it.
    public init(maxMessageLength: Int = defaultMaxMessageLength) {
        self.maxMessageLength = max(maxMessageLength, Self.minimumMessageLength)
    }

    /// Bytes received but not yet part of a returned message.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Appends bytes and returns every message they complete. On failure the messages completed
    /// earlier in the same call are lost; use `append` and `next` to keep them.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(EventStreamError) -> [EventStreamMessage] {
        try append(bytes)
        var messages: [EventStreamMessage] = []
        while let message = try next() { messages.append(message) }
        return messages
    }

    /// Buffers bytes without decoding them.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(EventStreamError) {
        if let failure { throw failure }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message, or nil until more bytes arrive.
    public mutating func next() throws(EventStreamError) -> EventStreamMessage? {
        if let failure { throw failure }
        do {
            return try decodeNext()
        } catch {
            failure = error
            buffer = []
            start = 0
            throw error
        }
    }

    /// The stream ended: throws if it ended inside a frame (or the decoder had failed).
    public func finish() throws(EventStreamError) {
        if let failure { throw failure }
        if bufferedByteCount > 0 { throw .truncated(bufferedBytes: bufferedByteCount) }
    }

    private mutating func decodeNext() throws(EventStreamError) -> EventStreamMessage? {
        let available = buffer.count - start
        guard available >= Self.preludeLength else { return nil }
        let totalLength: Int
        if let pendingLength {
            totalLength = pendingLength
        } else {
            totalLength = try checkPrelude()
            pendingLength = totalLength
        }
        guard available >= totalLength else { return nil }

        // withUnsafeBytes only rethrows untyped errors: carry the typed one out in a Result.
        let frameStart = start
        let decoded = buffer.withUnsafeBytes { raw in
            Result { () throws(EventStreamError) -> EventStreamMessage in
                try Self.decodeFrame(UnsafeRawBufferPointer(rebasing: raw[frameStart..<(frameStart + totalLength)]))
            }
        }
        let message = try decoded.get()
        start += totalLength
        pendingLength = nil
        compact()
        return message
    }

    /// Checks the prelude of the frame at `start` and returns its total length.
    private func checkPrelude() throws(EventStreamError) -> Int {
        let prelude = buffer[start..<(start + Self.preludeLength)]
        let total = Int(Self.readUInt32(prelude, start))
        let headers = Int(Self.readUInt32(prelude, start + 4))
        let expected = Self.readUInt32(prelude, start + 8)
        let computed = CRC32.checksum(prelude.prefix(8))
        guard expected == computed else { throw .preludeChecksumMismatch(expected: expected, computed: computed) }
        guard total >= Self.minimumMessageLength else { throw .messageTooShort(length: total) }
        guard total <= maxMessageLength else { throw .messageTooLong(length: total, limit: maxMessageLength) }
        guard headers <= total - Self.minimumMessageLength else {
            throw .headersLengthMismatch(headersLength: headers, messageLength: total)
        }
        return total
    }

    /// Drops consumed bytes: all at once when the buffer is drained, otherwise only once they
    /// outweigh what is left, so byte-at-a-time feeding stays linear.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            start = 0
        } else if start >= 64 * 1024 && start * 2 >= buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// Decodes one whole frame whose prelude was checked.
    static func decodeFrame(_ frame: UnsafeRawBufferPointer) throws(EventStreamError) -> EventStreamMessage {
        let total = frame.count
        let headersLength = Int(readUInt32(frame, 4))
        let expected = readUInt32(frame, total - 4)
        let computed = CRC32.checksum(UnsafeRawBufferPointer(rebasing: frame[0..<(total - 4)]))
        guard expected == computed else { throw .messageChecksumMismatch(expected: expected, computed: computed) }
        let headersEnd = preludeLength + headersLength
        let headers = try decodeHeaders(UnsafeRawBufferPointer(rebasing: frame[preludeLength..<headersEnd]))
        return EventStreamMessage(headers: headers, payload: Array(frame[headersEnd..<(total - 4)]))
    }

    static func decodeHeaders(_ bytes: UnsafeRawBufferPointer) throws(EventStreamError) -> [String: EventStreamHeaderValue] {
        var headers: [String: EventStreamHeaderValue] = [:]
        var reader = Reader(bytes: bytes)
        while !reader.isAtEnd {
            let nameLength = Int(try reader.byte("a header name length"))
            guard nameLength > 0 else { throw .malformedHeader("a header name is empty (at byte \(reader.position - 1) of the headers)") }
            let name = try reader.string(count: nameLength, what: "a header name")
            let type = try reader.byte("the type of header \(name)")
            let what = "the value of header \(name)"
            let value: EventStreamHeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .byte(Int8(bitPattern: try reader.byte(what)))
            case 3: value = .int16(Int16(bitPattern: UInt16(truncatingIfNeeded: try reader.integer(2, what))))
            case 4: value = .int32(Int32(bitPattern: UInt32(truncatingIfNeeded: try reader.integer(4, what))))
            case 5: value = .int64(Int64(bitPattern: try reader.integer(8, what)))
            case 6: value = .bytes(try reader.take(Int(try reader.integer(2, what)), what: what))
            case 7: value = .string(try reader.string(count: Int(try reader.integer(2, what)), what: what))
            case 8: value = .timestamp(Int64(bitPattern: try reader.integer(8, what)))
            case 9:
                let raw = try reader.take(16, what: what)
                guard let uuid = EventStreamUUID(bytes: raw) else { throw .malformedHeader("\(what) is not 16 bytes") }
                value = .uuid(uuid)
            default:
                throw .malformedHeader("header \(name) has unknown value type \(type)")
            }
            headers[name] = value
        }
        return headers
    }

    /// The big-endian u32 at `offset` (an index of `bytes`).
    static func readUInt32<C: Collection<UInt8>>(_ bytes: C, _ offset: C.Index) -> UInt32 where C.Index == Int {
        (offset..<(offset + 4)).reduce(0) { $0 << 8 | UInt32(bytes[$1]) }
    }

    /// Bounds-checked reads over the headers block.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        var isAtEnd: Bool { position >= bytes.count }

        mutating func byte(_ what: String) throws(EventStreamError) -> UInt8 {
            try take(1, what: what)[0]
        }

        mutating func integer(_ width: Int, _ what: String) throws(EventStreamError) -> UInt64 {
            try take(width, what: what).reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func take(_ count: Int, what: String) throws(EventStreamError) -> [UInt8] {
            guard count <= bytes.count - position else {
                throw .malformedHeader("\(what) runs past the end of the headers (needs \(count) bytes, \(bytes.count - position) left)")
            }
            defer { position += count }
            return Array(bytes[position..<(position + count)])
        }

        mutating func string(count: Int, what: String) throws(EventStreamError) -> String {
            let raw = try take(count, what: what)
            guard let s = String(validating: raw, as: UTF8.self) else { throw .malformedHeader("\(what) is not UTF-8") }
            return s
        }
    }
}
