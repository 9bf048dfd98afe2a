#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One server-sent event: its `event:` name (if any), its joined `data:` lines, and, when asked
/// for, the raw bytes it was read from (so a relay can forward or drop it whole).
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field, empty when absent.
    public var name: [UInt8] = []
    /// The `data:` lines joined with LF.
    public var data: [UInt8] = []
    /// True when at least one `data:` line was read (an empty `data:` line counts).
    public var hasData = false
    /// The exact bytes the event was read from, its ending blank line included (when kept).
    public var raw: [UInt8] = []

    public init() {}

    public var isDone: Bool { data.elementsEqual("[DONE]".utf8) }

    /// True for a stray blank line, comments only or fields other than `data:`/`event:`: nothing
    /// to act on (only reported by a parser made with `reportsEmptyEvents`).
    public var isEmpty: Bool { !hasData && name.isEmpty }
}

/// An incremental SSE reader (WHATWG event-stream rules for LF and CRLF line ends; a lone CR is
/// not a line end). `:` comments, one optional space after the colon. Bytes may be split anywhere
/// across `feed` calls; each byte is looked at once, and only the current line and event are
/// kept, bounded by `maxEventBytes` so a misbehaving upstream cannot grow memory without bound.
///
/// Shared by the core (its dialect translators and stream meter) and by plugins through
/// TollgatePluginKit.
public struct SSEParser: Sendable {
    /// An event grew past `maxEventBytes`.
    public struct TooLarge: Error, Sendable {
        public let limit: Int
    }

    public var maxEventBytes: Int
    /// Keep each event's raw bytes in `SSEEvent.raw`.
    public var keepRaw: Bool
    /// Also report events with nothing to act on (`SSEEvent.isEmpty`: comments, stray blank
    /// lines), so a raw relay sees every byte. Off: only events with data or a name.
    public var reportsEmptyEvents: Bool

    private var line: [UInt8] = []
    private var event = SSEEvent()
    private var eventBytes = 0

    public init(maxEventBytes: Int = 16 << 20, keepRaw: Bool = false, reportsEmptyEvents: Bool = false) {
        self.maxEventBytes = maxEventBytes
        self.keepRaw = keepRaw
        self.reportsEmptyEvents = reportsEmptyEvents
    }

    /// True when a partial event is waiting for more bytes.
    public var hasPartialEvent: Bool { !line.isEmpty || eventBytes > 0 }

    /// Feeds bytes; calls `onEvent` for every event completed by them, at its blank line.
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

    /// The stream ended: returns what was pending (nil when nothing), its last line completed even
    /// without a line end, so a final event missing only its blank line is still read. The event
    /// is returned whatever it holds (check `isEmpty`); its `raw` is the bytes as they came.
    public mutating func finish() -> SSEEvent? {
        guard hasPartialEvent else { return nil }
        var length = line.count
        if length > 0 && line[length - 1] == 0x0D { length -= 1 }
        if length > 0 { readField(length: length) }
        let last = event
        line.removeAll(keepingCapacity: true)
        resetEvent()
        return last
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        eventBytes += bytes.count
        if eventBytes > maxEventBytes { throw TooLarge(limit: maxEventBytes) }
        line.append(contentsOf: bytes)
        if keepRaw { event.raw.append(contentsOf: bytes) }
    }

    /// `line` holds one complete line with its LF.
    private mutating func endLine(_ onEvent: (inout SSEEvent) throws -> Void) throws {
        var length = line.count - 1
        if length > 0 && line[length - 1] == 0x0D { length -= 1 }
        defer { line.removeAll(keepingCapacity: true) }
        if length == 0 {
            defer { resetEvent() }
            if reportsEmptyEvents || !event.isEmpty { try onEvent(&event) }
            return
        }
        readField(length: length)
    }

    private mutating func resetEvent() {
        event.name.removeAll(keepingCapacity: true)
        event.data.removeAll(keepingCapacity: true)
        event.raw.removeAll(keepingCapacity: true)
        event.hasData = false
        eventBytes = 0
    }

    /// Reads the field in the first `length` bytes of `line` (its line end excluded).
    private mutating func readField(length: Int) {
        line.withUnsafeBytes { raw in
            let content = UnsafeRawBufferPointer(rebasing: raw[0..<length])
            guard content[0] != UInt8(ascii: ":") else { return }  // comment
            let colon = content.firstIndex(of: UInt8(ascii: ":")) ?? length
            let field = UnsafeRawBufferPointer(rebasing: content[0..<colon])
            var valueStart = Swift.min(colon + 1, length)
            if valueStart < length && content[valueStart] == 0x20 { valueStart += 1 }
            let value = UnsafeRawBufferPointer(rebasing: content[valueStart..<length])
            if field.elementsEqual("data".utf8) {
                if event.hasData { event.data.append(0x0A) }
                event.data.append(contentsOf: value)
                event.hasData = true
            } else if field.elementsEqual("event".utf8) {
                event.name = Array(value)
            }
        }
    }
}
