#if canImport(Glibc)
import Glibc
#endif

/// One server-sent event: its `event:` name (if any), its joined `data:` lines, and, when asked
/// for, the raw bytes it was read from (so a relay can forward or drop it whole).
public struct SSEEvent: Sendable, Equatable {
    public var name: [UInt8] = []
    public var data: [UInt8] = []
    public var raw: [UInt8] = []

    public var isDone: Bool { data.elementsEqual("[DONE]".utf8) }
}

/// An incremental SSE reader (WHATWG event-stream rules for LF and CRLF line ends). Bytes may be
/// split anywhere across `feed` calls; each byte is looked at once, and only the current line and
/// event are kept, bounded by `maxEventBytes`.
public struct SSEParser: Sendable {
    public struct TooLarge: Error {}

    public var maxEventBytes: Int
    /// Keep each event's raw bytes in `SSEEvent.raw`.
    public var keepRaw: Bool

    private var line: [UInt8] = []
    private var event = SSEEvent()
    private var hasData = false
    private var eventBytes = 0

    public init(maxEventBytes: Int = 16 << 20, keepRaw: Bool = false) {
        self.maxEventBytes = maxEventBytes
        self.keepRaw = keepRaw
    }

    /// True when a partial event is waiting for more bytes.
    public var hasPartialEvent: Bool { !line.isEmpty || eventBytes > 0 }

    /// Feeds bytes; calls `onEvent` for every event completed by them.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ onEvent: (inout SSEEvent) throws -> Void) throws {
        guard let base = chunk.baseAddress else { return }
        var offset = 0
        while offset < chunk.count {
            let rest = chunk.count - offset
            guard let hit = memchr(base + offset, 0x0A, rest) else {
                try append(UnsafeRawBufferPointer(start: base + offset, count: rest))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(hit))
            try append(UnsafeRawBufferPointer(start: base + offset, count: end - offset + 1))
            offset = end + 1
            try endLine(onEvent)
        }
    }

    public mutating func feed(_ bytes: [UInt8], _ onEvent: (inout SSEEvent) throws -> Void) throws {
        try bytes.withUnsafeBytes { try feed($0, onEvent) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        eventBytes += bytes.count
        if eventBytes > maxEventBytes { throw TooLarge() }
        line.append(contentsOf: bytes)
        if keepRaw { event.raw.append(contentsOf: bytes) }
    }

    /// `line` holds one complete line with its LF.
    private mutating func endLine(_ onEvent: (inout SSEEvent) throws -> Void) throws {
        var length = line.count - 1
        if length > 0 && line[length - 1] == 0x0D { length -= 1 }
        defer { line.removeAll(keepingCapacity: true) }
        if length == 0 {
            if hasData || !event.name.isEmpty { try onEvent(&event) }
            event.name.removeAll(keepingCapacity: true)
            event.data.removeAll(keepingCapacity: true)
            event.raw.removeAll(keepingCapacity: true)
            hasData = false
            eventBytes = 0
            return
        }
        line.withUnsafeBytes { raw in
            let content = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            guard content[0] != UInt8(ascii: ":") else { return }  // comment
            let colon = content.firstIndex(of: UInt8(ascii: ":")) ?? length
            let field = UnsafeRawBufferPointer(rebasing: content[0..<colon])
            var valueStart = Swift.min(colon + 1, length)
            if valueStart < length && content[valueStart] == 0x20 { valueStart += 1 }
            let value = UnsafeRawBufferPointer(rebasing: content[valueStart..<length])
            if field.elementsEqual("data".utf8) {
                if hasData { event.data.append(0x0A) }
                event.data.append(contentsOf: value)
                hasData = true
            } else if field.elementsEqual("event".utf8) {
                event.name = Array(value)
            }
        }
    }
}
