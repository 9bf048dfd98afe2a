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
    /// How many bytes at the start of `raw` end the event before: an LF whose CR was the last
    /// byte of the previous chunk, where it ended (and sent) that event. They are that event's
    /// bytes: a relay forwards them when it forwarded that event, whatever it does with this one.
    public var leadingLineEnd = 0

    public init() {}

    public var isDone: Bool { data.elementsEqual("[DONE]".utf8) }

    /// True for a stray blank line, comments only or fields other than `data:`/`event:`: nothing
    /// to act on (only reported by a parser made with `reportsEmptyEvents`).
    public var isEmpty: Bool { !hasData && name.isEmpty }
}

/// An incremental SSE reader (WHATWG event-stream rules: CRLF, LF and a lone CR each end a line;
/// a CR that ends one chunk and an LF that starts the next are one line end). `:` comments, one optional space after the colon. Bytes may be split anywhere
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

    /// The current line, without its line end.
    private var line: [UInt8] = []
    private var event = SSEEvent()
    private var eventBytes = 0
    /// The last chunk ended with a CR: an LF first in the next one belongs to that line end.
    private var afterCR = false
    /// What that CR ended: a field line (nil: its LF belongs to the event going on), or a blank
    /// line, whose event was already handed on (true: the LF is the stream's, led into the next
    /// event's raw bytes) or left out as empty (false: the LF goes with it).
    private var crEndedEvent: Bool?

    public init(maxEventBytes: Int = 16 << 20, keepRaw: Bool = false, reportsEmptyEvents: Bool = false) {
        self.maxEventBytes = maxEventBytes
        self.keepRaw = keepRaw
        self.reportsEmptyEvents = reportsEmptyEvents
    }

    /// True when a partial event is waiting for more bytes.
    public var hasPartialEvent: Bool { !line.isEmpty || eventBytes > 0 || event.leadingLineEnd > 0 }

    /// Feeds bytes; calls `onEvent` for every event completed by them, at its blank line.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ onEvent: (inout SSEEvent) throws -> Void) throws {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var offset = 0
        if afterCR {
            // The CR that ended the last chunk and this LF are one line end: the LF is only kept
            // for the raw bytes, with the event that follows.
            afterCR = false
            if chunk[0] == 0x0A {
                if crEndedEvent != false { try append(UnsafeRawBufferPointer(start: base, count: 0), lineEnd: 1, counted: crEndedEvent == nil) }
                if crEndedEvent == true && keepRaw { event.leadingLineEnd += 1 }
                offset = 1
            }
        }
        while offset < chunk.count {
            let rest = chunk.count - offset
            // memchr for LF first (the common line end), then a CR before it, if any.
            let lf = memchr(base + offset, 0x0A, rest).map { base.distance(to: UnsafeRawPointer($0)) } ?? chunk.count
            let cr = memchr(base + offset, 0x0D, lf - offset).map { base.distance(to: UnsafeRawPointer($0)) }
            guard let lineEnd = cr ?? (lf < chunk.count ? lf : nil) else {
                try append(UnsafeRawBufferPointer(start: base + offset, count: rest))
                return
            }
            // CRLF ends the line after its LF; a CR last in the chunk may be followed by an LF next time.
            var next = lineEnd + 1
            if cr != nil {
                if lf < chunk.count && lf == next { next += 1 } else if next == chunk.count { afterCR = true }
            }
            // A blank line's line end is not counted against the limit: split between a CR and an
            // LF, it would count for the next event, and an event's size would depend on the split.
            try append(UnsafeRawBufferPointer(start: base + offset, count: lineEnd - offset), lineEnd: next - lineEnd,
                       counted: !(line.isEmpty && lineEnd == offset))
            offset = next
            crEndedEvent = try endLine(onEvent)
        }
    }

    public mutating func feed(_ bytes: [UInt8], _ onEvent: (inout SSEEvent) throws -> Void) throws {
        try bytes.withUnsafeBytes { try feed($0, onEvent) }
    }

    /// The stream ended: returns what was pending (nil when nothing), its last line completed even
    /// without a line end, so a final event missing only its blank line is still read. The event
    /// is returned whatever it holds (check `isEmpty`); its `raw` is the bytes as they came.
    public mutating func finish() -> SSEEvent? {
        afterCR = false
        crEndedEvent = nil
        guard hasPartialEvent else { return nil }
        if !line.isEmpty { readField() }
        let last = event
        line.removeAll(keepingCapacity: true)
        resetEvent()
        return last
    }

    /// Appends `bytes` to the line and `lineEnd` more bytes (the line end) to the raw event;
    /// the line end counts against `maxEventBytes` when `counted`.
    private mutating func append(_ bytes: UnsafeRawBufferPointer, lineEnd: Int = 0, counted: Bool = true) throws {
        eventBytes += bytes.count + (counted ? lineEnd : 0)
        if eventBytes > maxEventBytes { throw TooLarge(limit: maxEventBytes) }
        line.append(contentsOf: bytes)
        if keepRaw {
            event.raw.append(contentsOf: UnsafeRawBufferPointer(start: bytes.baseAddress, count: bytes.count + lineEnd))
        }
    }

    /// `line` holds one complete line, its line end excluded. For a blank line (the end of an
    /// event), whether the event was handed to `onEvent`; nil for a field line.
    private mutating func endLine(_ onEvent: (inout SSEEvent) throws -> Void) throws -> Bool? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            let reported = reportsEmptyEvents || !event.isEmpty
            // An unreported event's leading line end still belongs to the stream: the next event carries it.
            defer { resetEvent(keepingLead: !reported) }
            if reported { try onEvent(&event) }
            return reported
        }
        readField()
        return nil
    }

    /// The line end the next event would lead with (see `SSEEvent.leadingLineEnd`), taken out of
    /// it: a relay calls this after each `feed` so the byte goes out now, not with an event that
    /// may never come.
    public mutating func takeLeadingLineEnd() -> [UInt8] {
        let lead = event.leadingLineEnd
        guard lead > 0 else { return [] }
        let bytes = Array(event.raw.prefix(lead))
        event.raw.removeFirst(lead)
        event.leadingLineEnd = 0
        return bytes
    }

    private mutating func resetEvent(keepingLead: Bool = false) {
        let lead = keepingLead ? event.leadingLineEnd : 0
        event.name.removeAll(keepingCapacity: true)
        event.data.removeAll(keepingCapacity: true)
        event.raw.removeSubrange(lead...)
        event.hasData = false
        event.leadingLineEnd = lead
        eventBytes = 0
    }

    /// Reads the field in `line`.
    private mutating func readField() {
        let length = line.count
        line.withUnsafeBytes { content in
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
