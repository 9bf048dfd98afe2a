import NIOCore
import TollgateShared

/// An HTTP/1.1 message's body as its framing says (RFC 9112 §6, §7.1): a fixed length, chunked
/// (with extensions and trailers, both read past), or up to the connection's close. The answer
/// and request parsers share it. Parts are slices of the bytes read, not copies.
struct BodyReader: LineReading {
    enum Framing { case length(Int), chunked, untilClose }

    enum Part {
        case data(ByteBuffer)
        case end
    }

    /// A chunk's size line, extensions included.
    static let maxChunkLineBytes = 4096

    private enum State {
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The line end after a chunk's data.
        case chunkDataEnd
        case trailers
        case untilClose
        case ended
    }

    private var state = State.ended
    var pending: [UInt8] = []
    /// What the trailer section may take (what is left of the head's limit).
    private var trailerRoom = 0
    /// Lines end with CRLF only (see `LineReading.withLine`).
    private var crlf = false

    mutating func start(_ framing: Framing, trailerRoom: Int, crlf: Bool) {
        switch framing {
        case .length(let length): state = .fixed(remaining: length)
        case .chunked: state = .chunkSize
        case .untilClose: state = .untilClose
        }
        pending.removeAll(keepingCapacity: true)
        self.trailerRoom = trailerRoom
        self.crlf = crlf
    }

    /// The body runs to the connection's close: the close is its end.
    var endsWithClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    /// The next part from `buffer` (consumed as far as it is read); nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws -> Part? {
        while true {
            switch state {
            case .ended:
                return .end
            case .fixed(let remaining):
                if remaining == 0 {
                    state = .ended
                    return .end
                }
                guard let slice = buffer.readSlice(length: min(remaining, buffer.readableBytes)), slice.readableBytes > 0 else { return nil }
                state = .fixed(remaining: remaining - slice.readableBytes)
                return .data(slice)
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .data(buffer.readSlice(length: buffer.readableBytes)!)
            case .chunkSize:
                guard let size = try withLine(&buffer, limit: Self.maxChunkLineBytes, crlf: crlf,
                                              tooLong: HTTPWireFailure("a chunk size line is longer than \(Self.maxChunkLineBytes) bytes"),
                                              { _, line in try Self.chunkSize(line) }) else { return nil }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let slice = buffer.readSlice(length: min(remaining, buffer.readableBytes))!
                state = slice.readableBytes == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - slice.readableBytes)
                return .data(slice)
            case .chunkDataEnd:
                // CRLF (or a lone LF, unless `crlf`); a CR read alone waits in `pending` for its LF.
                guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
                if byte == HTTPLines.cr && pending.isEmpty {
                    pending.append(byte)
                } else if byte == HTTPLines.lf && (!pending.isEmpty || !crlf) {
                    pending.removeAll(keepingCapacity: true)
                    state = .chunkSize
                } else {
                    throw HTTPWireFailure("a chunk is longer than its size")
                }
            case .trailers:
                // Trailer fields are read past, counted against the head's room.
                guard let blank = try withLine(&buffer, limit: max(0, trailerRoom), crlf: crlf,
                                               tooLong: HTTPWireFailure("the trailer section is longer than the head's limit", tooLarge: true),
                                               { reader, line in
                    reader.trailerRoom -= line.count + 2
                    return line.isEmpty
                }) else { return nil }
                if blank {
                    state = .ended
                    return .end
                }
            }
        }
    }

    /// A chunk's size: hexadecimal digits, then optional whitespace and `;` extensions (ignored).
    static func chunkSize(_ line: UnsafeRawBufferPointer) throws -> Int {
        var size = 0, digits = 0, i = 0
        while i < line.count, let digit = hexValue(line[i]) {  // TollgateShared's
            guard digits < 15 else { throw HTTPWireFailure("a chunk size has more than 15 digits") }
            size = size << 4 | Int(digit)
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw HTTPWireFailure("a chunk size line has no size") }
        while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") { i += 1 }
        guard i == line.count || line[i] == UInt8(ascii: ";") else { throw HTTPWireFailure("a chunk size line has text after its size") }
        return size
    }
}
