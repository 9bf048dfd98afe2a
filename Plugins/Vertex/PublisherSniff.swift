import AnthropicWire
import TollgatePluginKit

/// Tells an Anthropic answer from a Gemini one by its shape. The ABI hands `convert_response` and
/// `stream_new` the model the client asked for, which a channel's `model_map` may have renamed
/// (`my-model` → `claude-sonnet-4-5`), so the upstream's own bytes are the reliable witness:
///
/// - Anthropic: `{"type":"message",...}`, `{"type":"error",...}`; stream events are named
///   (`event: message_start`) and carry `type`.
/// - Google: `{"candidates":...}`, `{"usageMetadata":...}`, `{"promptFeedback":...}`, Google's
///   errors `{"error":{...}}` or `[{"error":{...}}]`; stream events are unnamed `data:` lines.
///
/// Nil when the shape says nothing (not JSON, no known key): the caller decides by model name.
enum PublisherSniff {
    static func answer(_ body: [UInt8]) -> VertexURLs.Publisher? {
        guard let (members, _) = try? RequestScan.members(body) else {
            // Google wraps some errors in a one-element array.
            return body.first(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) == UInt8(ascii: "[") ? .google : nil
        }
        var sawError = false
        for member in members {
            switch member.key {
            case "type", "content", "stop_reason": return .anthropic
            case "candidates", "usageMetadata", "usage_metadata", "promptFeedback", "prompt_feedback", "modelVersion": return .google
            case "error": sawError = true
            default: continue
            }
        }
        return sawError ? .google : nil
    }

    static func event(_ event: SSEEvent) -> VertexURLs.Publisher? {
        if !event.name.isEmpty { return .anthropic }
        guard event.hasData else { return nil }
        return answer(event.data)
    }
}

/// A stream whose publisher is read from its first event, then handed to the right converter
/// with every byte seen so far. Until then output is held (the first event decides, so this is
/// at most one event's delay); a stream that ends first is decided by the fallback.
final class PublisherSniffingStream: AdaptorStream {
    private let fallback: VertexURLs.Publisher
    private let make: (VertexURLs.Publisher) -> any AdaptorStream
    private var parser = SSEParser(maxEventBytes: AnthropicWire.maxEventBytes)
    private var held: [UInt8] = []
    private var inner: (any AdaptorStream)?

    init(fallback: VertexURLs.Publisher, make: @escaping (VertexURLs.Publisher) -> any AdaptorStream) {
        self.fallback = fallback
        self.make = make
    }

    /// The publisher once known (tests).
    private(set) var publisher: VertexURLs.Publisher?

    func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        if let inner { return try inner.feed(chunk, usage: &usage) }
        held.append(contentsOf: chunk)
        var decided: VertexURLs.Publisher?
        do {
            try parser.feed(chunk) { event in
                if decided == nil { decided = PublisherSniff.event(event) ?? self.fallback }
            }
        } catch {
            decided = fallback  // an oversized event: the converter refuses it with its own message
        }
        guard let decided else { return [] }
        return try start(decided, usage: &usage)
    }

    func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        if inner == nil {
            let pending = parser.finish().flatMap(PublisherSniff.event)
            out = try start(pending ?? fallback, usage: &usage)
        }
        guard let inner else { return out }
        do { return try out + inner.finish(usage: &usage) } catch {
            throw PluginError(error.kind, error.message, output: out + error.output)
        }
    }

    /// Makes the converter and feeds it what was held.
    private func start(_ publisher: VertexURLs.Publisher, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        self.publisher = publisher
        let stream = make(publisher)
        inner = stream
        let bytes = held
        held = []
        parser = SSEParser()
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        defer { raw.deallocate() }
        raw.copyBytes(from: bytes)
        return try stream.feed(UnsafeRawBufferPointer(rebasing: raw[0..<bytes.count]), usage: &usage)
    }
}
