/// Converts one streamed answer in a provider's own SSE events into OpenAI chunks, event by
/// event as the bytes arrive (the SSE parser keeps only the current event). Used on the
/// exchange's event loop only.
final class TemplateStream {
    private let mapping: EventStreamMapping
    private let response: ResponseMapping
    private let includeUsage: Bool
    private var parser = SSEParser()
    /// Its `id` becomes the upstream's once an event names it.
    private var writer: OpenAIChunkWriter
    private var sentRole = false
    private var finished = false
    private var ended = false
    private(set) var usage = TokenUsage()

    init(mapping: EventStreamMapping, response: ResponseMapping, model: String, includeUsage: Bool) {
        self.mapping = mapping
        self.response = response
        self.includeUsage = includeUsage
        writer = OpenAIChunkWriter(id: "chatcmpl-tollgate", created: unixSeconds(), model: model, writesLogprobs: true)
    }

    /// Converts a chunk; on a failure returns the bytes made before it and the message.
    func feed(_ chunk: UnsafeRawBufferPointer) -> (out: [UInt8], error: String?) {
        var out: [UInt8] = []
        do {
            try parser.feed(chunk) { event in try handle(event, into: &out) }
            return (out, nil)
        } catch let failure as StreamFailure {
            return (out, failure.message)
        } catch {
            return (out, "the upstream sent an event larger than the gateway accepts")
        }
    }

    /// The upstream ended: flushes a last unterminated event and closes the OpenAI stream.
    func finish() -> (out: [UInt8], error: String?) {
        var out: [UInt8] = []
        do {
            if var last = parser.finish(), !last.isEmpty { try handle(last, into: &out) }
            if !ended {
                guard finished else { return (out, "the upstream ended the stream before its final event") }
                end(into: &out)
            }
            return (out, nil)
        } catch let failure as StreamFailure {
            return (out, failure.message)
        } catch {
            return (out, "\(error)")
        }
    }

    struct StreamFailure: Error { let message: String }

    private func handle(_ event: SSEEvent, into out: inout [UInt8]) throws {
        guard !ended, event.hasData else { return }
        if event.isDone {
            end(into: &out)
            return
        }
        let data: JSONValue
        do { data = try JSONParser.parse(event.data) } catch {
            throw StreamFailure(message: "the upstream sent an event that is not JSON: \(error)")
        }
        let type: String
        if let typePath = mapping.typePath {
            let found: JSONValue
            do { found = try typePath.value(in: data) } catch { throw StreamFailure(message: "an event without its type: \(error)") }
            guard case .string(let name) = found else { throw StreamFailure(message: "the event type at \(typePath) is not a string") }
            type = name
        } else {
            type = String(decoding: event.name, as: UTF8.self)
        }
        guard let rule = mapping.rules[type] else { return }
        if let path = rule.id, case .string(let found) = try mapped(path, in: data, event: type) { writer.id = found }
        if let path = rule.errorMessage {
            let message = try mapped(path, in: data, event: type).stringValue ?? "(no message)"
            throw StreamFailure(message: "the upstream reported an error mid-stream: \(message)")
        }
        if !sentRole {
            sentRole = true
            writer.chunk(delta: .object(["role": .string("assistant"), "content": .string("")]), into: &out)
        }
        if let path = rule.content {
            let text: JSONValue
            do { text = try ResponseMapping.text(path, in: data) } catch { throw StreamFailure(message: "'\(type)' event: \(error)") }
            if case .string(let piece) = text, !piece.isEmpty { writer.chunk(delta: .object(["content": .string(piece)]), into: &out) }
        }
        if let path = rule.usage {
            do { usage.merge(try path.read(data)) } catch { throw StreamFailure(message: "'\(type)' event: \(error)") }
        }
        if let path = rule.finishReason, case .string(let reason) = try mapped(path, in: data, event: type) {
            finished = true
            writer.chunk(delta: .object([:]), finishReason: response.finish(reason), into: &out)
        }
    }

    private func mapped(_ path: JSONPath, in data: JSONValue, event: String) throws -> JSONValue {
        do { return try path.value(in: data) } catch { throw StreamFailure(message: "'\(event)' event: \(error)") }
    }

    /// The usage chunk (when the client asked for it) and `[DONE]`.
    private func end(into out: inout [UInt8]) {
        ended = true
        if includeUsage { writer.usageChunk(usage.openAIJSON(), into: &out) }
        out.append(contentsOf: OpenAIChunkWriter.done)
    }
}
