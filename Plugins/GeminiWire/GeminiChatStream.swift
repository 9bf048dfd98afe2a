import TollgatePluginKit

/// Gemini `streamGenerateContent?alt=sse` -> OpenAI `chat.completion.chunk` events.
///
/// Each Gemini event is a whole `GenerateContentResponse` holding the next piece of each
/// candidate. Per candidate: the first chunk carries `role: assistant`; text becomes
/// `delta.content`, thoughts `delta.reasoning_content`; a function call arrives whole, so it
/// becomes one complete `tool_calls` delta; a `finishReason` becomes a finish chunk. Usage is
/// read from every event's `usageMetadata` (later counts win, absent ones are kept) and, when the
/// client asked for it, sent in a last `{"choices":[],"usage":...}` chunk before `[DONE]`.
public final class GeminiChatStream: AdaptorStream {
    let model: String
    let includeUsage: Bool
    let created: Int64
    var id: String?
    var reader: SSEParser
    var candidates: [Int: CandidateState] = [:]
    var finished = false
    var usage = PluginUsage()
    /// The upstream ended: a partial event left in the reader is read if it can be.
    var flushing = false

    struct CandidateState {
        var roleSent = false
        var toolCalls = 0
    }

    public init(model: String, includeUsage: Bool, created: Int64, maxEventBytes: Int = 16 << 20) {
        self.model = model
        self.includeUsage = includeUsage
        self.created = created
        reader = SSEParser(maxEventBytes: maxEventBytes)
    }

    public func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        defer { usage.merge(self.usage) }
        do {
            try reader.read(chunk) { event throws(PluginError) in try self.event(event, into: &out) }
        } catch {
            throw PluginError(error.kind, error.message, output: out)
        }
        return out
    }

    public func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        defer { usage.merge(self.usage) }
        flushing = true
        do {
            if let last = reader.finish() { try event(last, into: &out) }
        } catch {
            throw PluginError(error.kind, error.message, output: out)
        }
        guard finished else { throw PluginError(.upstream, "stream ended before finishReason", output: out) }
        if self.usage.prompt != nil && self.usage.completion == nil { self.usage.completion = 0 }
        if includeUsage {
            writer.usageChunk(GeminiUsage.openAI(self.usage), into: &out)
        }
        out += OpenAIChunkWriter.done
        return out
    }

    /// Reads one event; events without data (comments, other fields) are skipped.
    private func event(_ event: SSEEvent, into out: inout [UInt8]) throws(PluginError) {
        guard event.hasData, !event.isDone else { return }
        guard let json = Wire.parse(event.data), case .object = json else {
            if flushing { return }  // cut mid-event: reported below as a stream that did not finish
            throw PluginError(.upstream, "Gemini sent a stream event that is not a JSON object")
        }
        if let error = GeminiErrors.errorObject(json) { throw PluginError(.upstream, GeminiErrors.message(error)) }
        if id == nil { id = json.gemini("responseId")?.stringValue.map { "chatcmpl-" + $0 } ?? Wire.randomID("chatcmpl-") }
        usage.merge(GeminiUsage.read(json.gemini("usageMetadata")))

        let list = json.gemini("candidates")?.arrayValue ?? []
        for (position, raw) in list.enumerated() {
            let candidate = GeminiCandidate(raw, position: position)
            var state = candidates[candidate.index] ?? CandidateState()
            var delta: [JSONValue.Member] = []
            if !state.roleSent { delta.append(.init("role", .string("assistant"))) }
            if !candidate.reasoning.isEmpty { delta.append(.init("reasoning_content", .string(candidate.reasoning))) }
            if !candidate.text.isEmpty { delta.append(.init("content", .string(candidate.text))) }
            if !candidate.toolCalls.isEmpty {
                delta.append(.init("tool_calls", .array(candidate.openAIToolCalls(firstIndex: state.toolCalls, withIndex: true))))
                state.toolCalls += candidate.toolCalls.count
            }
            if delta.count == 1 && !state.roleSent { delta.append(.init("content", .string(""))) }
            if !delta.isEmpty {
                writer.chunk(choices: [writer.choice(candidate.index, delta: .object(delta))], into: &out)
                state.roleSent = true
            }
            if let reason = candidate.finishReason {
                let mapped = GeminiFinishReason.openAI(reason, hasToolCalls: state.toolCalls > 0)
                writer.chunk(choices: [writer.choice(candidate.index, delta: .object([]), finishReason: mapped)], into: &out)
                finished = true
            }
            candidates[candidate.index] = state
        }
        if list.isEmpty, json.gemini("promptFeedback")?.gemini("blockReason")?.stringValue != nil {
            // The prompt was blocked: no candidate will come.
            if candidates[0]?.roleSent != true {
                writer.chunk(delta: .object([.init("role", .string("assistant")), .init("content", .string(""))]), into: &out)
                candidates[0, default: CandidateState()].roleSent = true
            }
            writer.chunk(delta: .object([]), finishReason: "content_filter", into: &out)
            finished = true
        }
    }

    /// The chunk writer, with the upstream's response id once known.
    private var writer: OpenAIChunkWriter {
        OpenAIChunkWriter(id: id ?? Wire.randomID("chatcmpl-"), created: created, model: model, writesLogprobs: true)
    }
}

/// A Gemini stream passed to a Gemini-dialect client as it is: the bytes go out unchanged, and
/// the events are read on the side for their `usageMetadata` (later counts win, absent ones are
/// kept) and to tell a complete stream (one that reached a `finishReason`) from a cut one.
public final class GeminiPassthroughStream: AdaptorStream {
    var reader: SSEParser
    var usage = PluginUsage()
    var finished = false
    var sawError = false

    public init(maxEventBytes: Int = 16 << 20) { reader = SSEParser(maxEventBytes: maxEventBytes) }

    public func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        defer { usage.merge(self.usage) }
        try reader.read(chunk) { event in self.inspect(event) }
        return Array(chunk)
    }

    public func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        defer { usage.merge(self.usage) }
        if let last = reader.finish() { inspect(last) }
        // An error event was forwarded as Gemini wrote it; the client has its explanation.
        guard finished || sawError else { throw PluginError(.upstream, "stream ended before finishReason") }
        return []
    }

    private func inspect(_ event: SSEEvent) {
        guard event.hasData, let json = Wire.parse(event.data) else { return }
        if GeminiErrors.errorObject(json) != nil { sawError = true; return }
        usage.merge(GeminiUsage.read(json.gemini("usageMetadata")))
        let candidates = json.gemini("candidates")?.arrayValue ?? []
        if candidates.contains(where: { $0.gemini("finishReason")?.stringValue != nil })
            || (candidates.isEmpty && json.gemini("promptFeedback")?.gemini("blockReason") != nil) {
            finished = true
        }
    }
}
