import TollgatePluginKit

/// An Anthropic SSE stream → OpenAI `chat.completion.chunk` events, every chunk with the
/// message's id:
///
/// | Anthropic                                 | OpenAI chunk                                         |
/// |-------------------------------------------|------------------------------------------------------|
/// | message_start                             | delta `{role: assistant, content: ""}`; input usage  |
/// | content_block_start tool_use              | tool_calls[{index, id, type, function{name, ""}}]    |
/// | content_block_delta text_delta            | delta.content                                        |
/// | content_block_delta input_json_delta      | tool_calls[{index, function{arguments: partial}}]    |
/// | content_block_delta thinking_delta        | delta.reasoning_content                              |
/// | message_delta                             | finish_reason; cumulative output usage               |
/// | message_stop                              | usage chunk (when asked for), then `[DONE]`          |
/// | ping, *_stop, unknown events              | nothing                                              |
/// | error                                     | a failure: the core writes the error event           |
///
/// Tool calls are numbered from 0 in the order their blocks start, whatever the block indices.
final class StreamConversion: AdaptorStream {
    private let includeUsage: Bool
    private var reader = SSEParser(maxEventBytes: AnthropicWire.maxEventBytes)
    private var usage = AnthropicUsage()
    /// Its `id` becomes the message's at `message_start`.
    private var writer: OpenAIChunkWriter
    /// Anthropic content block index → OpenAI tool call index.
    private var toolIndex: [Int64: Int] = [:]
    private var sentFinish = false
    private var done = false

    init(model: String, includeUsage: Bool, created: Int64) {
        self.includeUsage = includeUsage
        writer = OpenAIChunkWriter(id: "msg", created: created, model: model, writesLogprobs: false)
    }

    func feed(_ chunk: UnsafeRawBufferPointer, usage total: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        defer { total.merge(usage.tokenUsage) }
        try reader.read(chunk) { event throws(PluginError) in try handle(event, into: &out) }
        return out
    }

    func finish(usage total: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        defer { total.merge(usage.tokenUsage) }
        if let last = reader.finish() { try handle(last, into: &out) }
        guard done else { throw PluginError(.upstream, "stream ended before message_stop", output: out) }
        return out
    }

    // MARK: - Events

    private func handle(_ event: SSEEvent, into out: inout [UInt8]) throws(PluginError) {
        guard !done, event.hasData else { return }
        let json: JSONValue
        do { json = try JSONParser.parse(event.data) } catch {
            throw PluginError(.upstream, "Anthropic sent a stream event that is not JSON: \(error)", output: out)
        }
        switch json["type"]?.stringValue ?? String(decoding: event.name, as: UTF8.self) {
        case "message_start":
            if let given = json["message"]?["id"]?.stringValue { writer.id = given }
            usage.read(json["message"]?["usage"])
            emit(delta: ["role": .string("assistant"), "content": .string("")], into: &out)
        case "content_block_start":
            guard let block = json["content_block"] else { return }
            switch block["type"]?.stringValue {
            case "tool_use":
                let index = toolIndex.count
                toolIndex[json["index"]?.int64Value ?? -1] = index
                emit(delta: ["tool_calls": .array([.object([
                    "index": .int(index), "id": block["id"] ?? .string(""), "type": .string("function"),
                    "function": .object(["name": block["name"] ?? .string(""), "arguments": .string("")]),
                ])])], into: &out)
            case "text":
                if let text = block["text"]?.stringValue, !text.isEmpty { emit(delta: ["content": .string(text)], into: &out) }
            default: break
            }
        case "content_block_delta":
            guard let delta = json["delta"] else { return }
            switch delta["type"]?.stringValue {
            case "text_delta":
                if let text = delta["text"]?.stringValue, !text.isEmpty { emit(delta: ["content": .string(text)], into: &out) }
            case "input_json_delta":
                guard let partial = delta["partial_json"]?.stringValue, !partial.isEmpty,
                      let index = toolIndex[json["index"]?.int64Value ?? -1] else { return }
                emit(delta: ["tool_calls": .array([.object(["index": .int(index), "function": .object(["arguments": .string(partial)])])])],
                     into: &out)
            case "thinking_delta":
                if let text = delta["thinking"]?.stringValue, !text.isEmpty { emit(delta: ["reasoning_content": .string(text)], into: &out) }
            default: break  // signature_delta, citations_delta and future kinds
            }
        case "message_delta":
            usage.read(json["usage"])
            if let reason = json["delta"]?["stop_reason"]?.stringValue, !sentFinish {
                emit(delta: [:], finish: ResponseConversion.finishReason(reason), into: &out)
            }
        case "message_stop":
            if !sentFinish { emit(delta: [:], finish: "stop", into: &out) }
            if includeUsage { writer.usageChunk(usage.openAIJSON, into: &out) }
            out += OpenAIChunkWriter.done
            done = true
        case "error":
            throw PluginError(.upstream, Self.errorMessage(json), output: out)
        default:
            break  // ping, content_block_stop, and event types Anthropic may add
        }
    }

    /// "type: message" of an Anthropic error event or body.
    static func errorMessage(_ json: JSONValue) -> String {
        let type = json["error"]?["type"]?.stringValue ?? "error"
        let message = json["error"]?["message"]?.stringValue ?? "Anthropic sent an error event"
        return "\(type): \(message)"
    }

    private func emit(delta: KeyValuePairs<String, JSONValue>, finish: String? = nil, into out: inout [UInt8]) {
        if finish != nil { sentFinish = true }
        writer.chunk(delta: .object(delta), finishReason: finish, into: &out)
    }
}
