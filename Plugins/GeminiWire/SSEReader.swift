import TollgatePluginKit

/// An incremental reader of server-sent events (the WHATWG rules: lines end with CRLF, LF or CR;
/// `data:` lines of one event are joined with LF; a blank line ends the event; comments and other
/// fields are ignored). Bytes may be split anywhere across `feed` calls, a CRLF included. Only the
/// current line and event are kept, and an event larger than `maxEventBytes` is refused, so a
/// misbehaving upstream cannot make the gateway buffer without bound.
public struct SSEReader: Sendable {
    public let maxEventBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventBytes = 0
    /// The previous byte was a CR: an LF right after it belongs to the same line end.
    private var afterCR = false

    public init(maxEventBytes: Int = 16 << 20) { self.maxEventBytes = maxEventBytes }

    /// True when bytes of an unfinished event are waiting.
    public var hasPartialEvent: Bool { !line.isEmpty || hasData }

    /// Feeds bytes; calls `onEvent` with the data of every event they complete.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ onEvent: ([UInt8]) throws(PluginError) -> Void) throws(PluginError) {
        var start = 0
        var i = 0
        let count = chunk.count
        while i < count {
            let byte = chunk[i]
            if byte == 0x0A || byte == 0x0D {
                if byte == 0x0A && afterCR && start == i {
                    afterCR = false
                    i += 1
                    start = i
                    continue
                }
                try append(chunk, start..<i)
                afterCR = byte == 0x0D
                i += 1
                start = i
                try endLine(onEvent)
            } else {
                afterCR = false
                i += 1
            }
        }
        try append(chunk, start..<count)
    }

    public mutating func feed(_ bytes: [UInt8], _ onEvent: ([UInt8]) throws(PluginError) -> Void) throws(PluginError) {
        var failure: PluginError?
        bytes.withUnsafeBytes { raw in
            do throws(PluginError) { try feed(raw, onEvent) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The stream ended: an event whose closing blank line never came is delivered if it holds
    /// data (lenient: some servers omit the last blank line).
    public mutating func finish(_ onEvent: ([UInt8]) throws(PluginError) -> Void) throws(PluginError) {
        if !line.isEmpty { try endLine(onEvent) }
        if hasData {
            let event = data
            reset()
            try onEvent(event)
        }
    }

    private mutating func append(_ chunk: UnsafeRawBufferPointer, _ range: Range<Int>) throws(PluginError) {
        guard !range.isEmpty else { return }
        eventBytes += range.count
        guard eventBytes <= maxEventBytes else {
            throw PluginError(.upstream, "upstream sent a server-sent event larger than \(maxEventBytes) bytes")
        }
        line.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[range]))
    }

    private mutating func endLine(_ onEvent: ([UInt8]) throws(PluginError) -> Void) throws(PluginError) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { eventBytes = 0; return }
            let event = data
            reset()
            try onEvent(event)
            return
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard colon > 0, line[..<colon].elementsEqual("data".utf8) else { return }  // comment or another field
        var valueStart = colon == line.endIndex ? colon : colon + 1
        if valueStart < line.endIndex && line[valueStart] == 0x20 { valueStart += 1 }
        if hasData { data.append(0x0A) }
        data.append(contentsOf: line[valueStart...])
        hasData = true
    }

    private mutating func reset() {
        data.removeAll(keepingCapacity: true)
        hasData = false
        eventBytes = 0
    }
}
