import TollgatePluginKit

/// One server-sent event as the reader saw it.
struct SSEEvent {
    /// The `event:` field, empty when absent.
    var name: [UInt8] = []
    /// The `data:` lines joined with LF.
    var data: [UInt8] = []
    var hasData = false
    /// The exact bytes the event was read from, its ending blank line included (when kept).
    var raw: [UInt8] = []

    /// True for a stray blank line or comments only: nothing to act on.
    var isEmpty: Bool { !hasData && name.isEmpty }
}

/// An incremental SSE reader. The core's parser is not visible to plugins, so this is a small one
/// with the same rules: LF or CRLF line ends (a lone CR is not one, as in the core), `:`
/// comments, one optional space after the colon. Bytes may be split anywhere across `feed` calls;
/// only the current line and event are held, and an event larger than `maxEventBytes` is refused
/// so a misbehaving upstream cannot grow memory without bound.
struct SSEReader {
    var maxEventBytes: Int
    /// Keep each event's bytes in `SSEEvent.raw` (for a relay that forwards them as they were).
    var keepRaw: Bool

    private var line: [UInt8] = []
    private var event = SSEEvent()
    private var eventBytes = 0

    init(maxEventBytes: Int = 8 << 20, keepRaw: Bool = false) {
        self.maxEventBytes = maxEventBytes
        self.keepRaw = keepRaw
    }

    /// True when bytes of an unfinished event are held.
    var hasPartialEvent: Bool { eventBytes > 0 }

    /// Feeds bytes; calls `onEvent` for each event they complete, at its blank line. Empty events
    /// (comments, stray blank lines) are reported too, so a raw relay sees every byte.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ onEvent: (SSEEvent) throws(PluginError) -> Void) throws(PluginError) {
        var start = 0
        while start < chunk.count {
            let newline = chunk[start...].firstIndex(of: 0x0A)
            let end = newline.map { $0 + 1 } ?? chunk.count
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<end])
            eventBytes += piece.count
            if eventBytes > maxEventBytes {
                throw PluginError(.upstream, "upstream sent an SSE event larger than \(maxEventBytes) bytes")
            }
            line.append(contentsOf: piece)
            if keepRaw { event.raw.append(contentsOf: piece) }
            start = end
            if newline != nil, endLine() { try dispatch(onEvent) }
        }
    }

    mutating func feed(_ bytes: [UInt8], _ onEvent: (SSEEvent) throws(PluginError) -> Void) throws(PluginError) {
        var failure: PluginError?
        bytes.withUnsafeBytes { raw in
            do throws(PluginError) { try feed(raw, onEvent) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The stream ended: returns what was pending (nil when nothing), its last line completed even
    /// without a line end, so a final event missing only its blank line is still read.
    mutating func finish() -> SSEEvent? {
        guard hasPartialEvent else { return nil }
        if !line.isEmpty { line.append(0x0A); _ = endLine() }
        let last = event
        reset()
        return last
    }

    // MARK: -

    /// Reads the complete line held in `line` (LF included); true when it was blank (an event ends).
    private mutating func endLine() -> Bool {
        defer { line.removeAll(keepingCapacity: true) }
        var length = line.count - 1
        if length > 0 && line[length - 1] == 0x0D { length -= 1 }
        if length == 0 { return true }
        guard line[0] != UInt8(ascii: ":") else { return false }  // a comment
        let content = line[..<length]
        let colon = content.firstIndex(of: UInt8(ascii: ":")) ?? length
        var valueStart = min(colon + 1, length)
        if valueStart < length && content[valueStart] == 0x20 { valueStart += 1 }
        let field = content[..<colon]
        let value = content[valueStart...]
        if field.elementsEqual("data".utf8) {
            if event.hasData { event.data.append(0x0A) }
            event.data.append(contentsOf: value)
            event.hasData = true
        } else if field.elementsEqual("event".utf8) {
            event.name = Array(value)
        }
        return false
    }

    private mutating func dispatch(_ onEvent: (SSEEvent) throws(PluginError) -> Void) throws(PluginError) {
        let done = event
        reset()
        try onEvent(done)
    }

    private mutating func reset() {
        event = SSEEvent()
        eventBytes = 0
    }
}
