/// Reads usage from a side copy of an OpenAI SSE stream. In strip mode (the gateway asked
/// upstream for `include_usage` on the client's behalf) it also rebuilds the stream without the
/// final usage-only chunk, forwarding every other event byte for byte.
public struct OpenAIStreamMeter: Sendable {
    public private(set) var usage = TokenUsage()
    public private(set) var sawDone = false
    /// The `service_tier` the upstream reported serving (read from the usage chunk).
    public private(set) var servedTier: JSONValue?
    public let stripUsageChunk: Bool
    private var parser: SSEParser
    /// The last event was the usage chunk, left out (strip mode).
    private var droppedLast = false

    public init(stripUsageChunk: Bool) {
        self.stripUsageChunk = stripUsageChunk
        // Strip mode relays every event but one, comment-only ones (keep-alive pings) too.
        parser = SSEParser(keepRaw: stripUsageChunk, reportsEmptyEvents: stripUsageChunk)
    }

    /// Reads a chunk. In strip mode returns the bytes to forward instead of the chunk; otherwise
    /// returns nil and the caller forwards the chunk unchanged.
    public mutating func read(_ chunk: UnsafeRawBufferPointer) throws -> [UInt8]? {
        var forward: [UInt8]? = stripUsageChunk ? [] : nil
        var found = TokenUsage()
        var done = false
        try parser.feed(chunk) { event in
            if event.isDone { done = true }
            var drop = false
            if let object = Self.usageObject(in: event.data) {
                if let counted = TokenUsage(openAI: object.usage) { found.merge(counted) }
                if let tier = object.tier { servedTier = tier }
                drop = object.choicesEmpty
            }
            if forward != nil {
                // Leading line-end bytes are the previous event's (SSEEvent.leadingLineEnd): they go where it went.
                if !droppedLast { forward!.append(contentsOf: event.raw.prefix(event.leadingLineEnd)) }
                if !drop { forward!.append(contentsOf: event.raw.dropFirst(event.leadingLineEnd)) }
                droppedLast = drop
            }
        }
        let lead = parser.takeLeadingLineEnd()
        if forward != nil && !droppedLast { forward! += lead }
        usage.merge(found)
        sawDone = sawDone || done
        return forward
    }

    /// Bytes of a trailing event the upstream never terminated (strip mode forwards them as-is).
    public var hasPartialEvent: Bool { parser.hasPartialEvent }

    /// Finds a non-null `usage` in an event's data (a Responses stream carries it in the final
    /// event's `response`), and the `service_tier` that served it; parses the event only when a
    /// usage is there.
    static func usageObject(in data: [UInt8]) -> (usage: JSONValue, choicesEmpty: Bool, tier: JSONValue?)? {
        guard hasUsageObject(data), let value = try? JSONParser.parse(data),
              let usage = value["usage"] ?? value["response"]?["usage"], case .object = usage else { return nil }
        return (usage, value["choices"]?.arrayValue?.isEmpty ?? true, value["service_tier"] ?? value["response"]?["service_tier"])
    }

    /// Made once: an array literal here was an allocation every event of every stream.
    private static let usageKey = Array("\"usage\"".utf8)

    /// Cheap test for `"usage"` followed by `:` and `{`, so most chunks are never parsed.
    static func hasUsageObject(_ data: [UInt8]) -> Bool {
        let needle = usageKey
        var i = 0
        while let found = firstIndex(of: needle, in: data, from: i) {
            i = found + needle.count
            while i < data.count, data[i] == 0x20 || data[i] == 0x3A || data[i] == 0x0A || data[i] == 0x0D || data[i] == 0x09 { i += 1 }
            if i < data.count && data[i] == UInt8(ascii: "{") { return true }
        }
        return false
    }
}

/// First position of `needle` in `haystack` at or after `start` (memchr on the first byte).
func firstIndex(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard let first = needle.first, haystack.count - start >= needle.count else { return nil }
    var i = start
    let last = haystack.count - needle.count
    while i <= last {
        if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        i += 1
    }
    return nil
}
