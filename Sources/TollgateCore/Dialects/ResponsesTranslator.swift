import Foundation

/// Internal (OpenAI Chat) answers -> OpenAI Responses answers, complete and streamed.
///
/// A stream is the event sequence OpenAI sends: `response.created`, `response.in_progress`, then
/// per output item `response.output_item.added`, its parts and deltas and their `.done` events,
/// `response.output_item.done`, and last `response.completed` (or `response.incomplete` when the
/// answer was cut by the token limit or a filter, `response.failed` on an error). The stream is
/// also finished when the upstream's body ends without `[DONE]`.
final class ResponsesTranslator: ResponseTranslator {
    let model: String
    let responseID: String
    let createdAt: Int64
    /// The request's fields that the Response object repeats.
    let echo: [JSONValue.Member]
    /// Called with each finished Response object (stored for `previous_response_id`).
    var onFinished: ((JSONValue, [JSONValue]) -> Void)?
    private var parser = SSEParser()
    private var state = ResponsesStreamState()
    private var fedStream = false

    init(model: String, echo: [JSONValue.Member], responseID: String = ResponsesTranslator.newID("resp"),
         createdAt: Int64 = Int64(Date().timeIntervalSince1970)) {
        self.model = model
        self.echo = echo
        self.responseID = responseID
        self.createdAt = createdAt
    }

    var streamContentType: String { "text/event-stream; charset=utf-8" }

    /// `prefix_` and 32 random hex digits, as OpenAI's ids look.
    static func newID(_ prefix: String) -> String {
        prefix + "_" + String(format: "%016llx%016llx", UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
    }

    // MARK: Complete answers

    func complete(status: Int, body: [UInt8]) -> [UInt8] {
        guard let json = try? JSONParser.parse(body) else {
            return ErrorBody.openAI(message: "upstream answer is not JSON", type: "upstream_error", code: "upstream_error")
        }
        guard (200..<300).contains(status), json["error"] == nil else {
            if case .object? = json["error"] { return body }  // already OpenAI's error shape
            let message = json["error"]?.stringValue ?? "upstream error (HTTP \(status))"
            return ErrorBody.openAI(message: message, type: "upstream_error", code: "upstream_error")
        }
        let choice = json["choices"]?[0]
        let message = choice?["message"]
        var output: [JSONValue] = []
        if let text = message?["content"]?.stringValue, !text.isEmpty {
            output.append(Self.messageItem(id: Self.newID("msg"), text: text, done: true))
        }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            output.append(Self.functionCallItem(id: Self.newID("fc"), callID: call["id"]?.stringValue ?? Self.newID("call"),
                                                name: call["function"]?["name"]?.stringValue ?? "",
                                                arguments: call["function"]?["arguments"]?.stringValue ?? "{}", done: true))
        }
        let usage = TokenUsage(openAI: json["usage"] ?? .null) ?? TokenUsage()
        let finished = response(status: Self.status(choice?["finish_reason"]?.stringValue), output: output, usage: usage)
        onFinished?(finished, output)
        return finished.serialized()
    }

    /// `completed`, or `incomplete` when the answer was cut.
    static func status(_ finishReason: String?) -> String {
        finishReason == "length" || finishReason == "content_filter" ? "incomplete" : "completed"
    }

    /// The Response object.
    func response(status: String, output: [JSONValue], usage: TokenUsage?, finishReason: String? = nil, error: JSONValue = .null) -> JSONValue {
        var members: [JSONValue.Member] = [
            .init("id", .string(responseID)), .init("object", .string("response")), .init("created_at", .int(createdAt)),
            .init("status", .string(status)), .init("error", error),
        ]
        var incomplete = JSONValue.null
        if status == "incomplete" {
            incomplete = .object(["reason": .string(finishReason == "content_filter" ? "content_filter" : "max_output_tokens")])
        }
        members.append(.init("incomplete_details", incomplete))
        members.append(.init("model", .string(model)))
        members.append(.init("output", .array(output)))
        members += echo
        members.append(.init("usage", usage.map(Self.usage) ?? .null))
        return .object(members)
    }

    static func usage(_ usage: TokenUsage) -> JSONValue {
        let input = usage.prompt ?? 0, output = usage.completion ?? 0
        return .object([
            "input_tokens": .int(input), "input_tokens_details": .object(["cached_tokens": .int(usage.cacheRead ?? 0)]),
            "output_tokens": .int(output), "output_tokens_details": .object(["reasoning_tokens": .int(usage.reasoning ?? 0)]),
            "total_tokens": .int(input + output),
        ])
    }

    static func messageItem(id: String, text: String, done: Bool) -> JSONValue {
        .object([
            "id": .string(id), "type": .string("message"), "status": .string(done ? "completed" : "in_progress"),
            "role": .string("assistant"), "content": .array(done ? [outputText(text)] : []),
        ])
    }

    static func outputText(_ text: String) -> JSONValue {
        .object(["type": .string("output_text"), "text": .string(text), "annotations": .array([]), "logprobs": .array([])])
    }

    static func functionCallItem(id: String, callID: String, name: String, arguments: String, done: Bool) -> JSONValue {
        .object([
            "id": .string(id), "type": .string("function_call"), "status": .string(done ? "completed" : "in_progress"),
            "arguments": .string(arguments), "call_id": .string(callID), "name": .string(name),
        ])
    }

    // MARK: Streams

    func streamChunk(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        fedStream = true
        var out: [UInt8] = []
        do {
            try parser.feed(bytes) { event in
                guard !state.finished else { return }
                if event.isDone { out += state.finish(self); return }
                guard let json = try? JSONParser.parse(event.data) else { return }
                out += state.read(json, self)
            }
        } catch {
            out += state.fail(self, code: "upstream_error", message: "upstream sent an event larger than the gateway accepts")
        }
        return out
    }

    /// The upstream's body ended: a stream not yet finished is finished now (completed when the
    /// answer had ended, else failed).
    func streamEnd() -> [UInt8] {
        guard fedStream, !state.finished else { return [] }
        var out: [UInt8] = []
        switch StreamTail.read(&parser) {
        case .cut: return state.fail(self, code: "upstream_stream_truncated", message: StreamTail.cutMessage)
        case .event(let json): out = state.read(json, self)
        case .none, .done: break
        }
        guard !state.finished else { return out }
        guard state.finishReason != nil else {
            return out + state.fail(self, code: "upstream_stream_truncated", message: "the upstream ended the stream before the answer was complete")
        }
        return out + state.finish(self)
    }

    /// An error event for a stream that has no translator (a passthrough stream failing in the gateway).
    static func errorEvent(_ error: GatewayError) -> [UInt8] {
        Array("event: error\ndata: ".utf8)
            + JSONValue.object(["type": .string("error"), "code": .string(error.code), "message": .string(error.message),
                                "param": .null, "sequence_number": .int(0)]).serialized()
            + Array("\n\n".utf8)
    }
}

/// Where a Responses stream stands while internal chunks are turned into its events.
struct ResponsesStreamState {
    private enum Item {
        case message(id: String, text: String)
        case functionCall(id: String, callID: String, name: String, arguments: String)
    }

    private(set) var finished = false
    private(set) var finishReason: String?
    private var started = false
    private var sequence = 0
    private var items: [Item] = []
    /// The output index of the item still open (receiving deltas), if any.
    private var open: Int?
    private var toolItems: [Int: Int] = [:]  // internal tool_call index -> output index
    private var usage = TokenUsage()

    private mutating func event(_ type: String, _ members: [JSONValue.Member]) -> [UInt8] {
        let data = JSONValue.object([.init("type", .string(type)), .init("sequence_number", .int(sequence))] + members)
        sequence += 1
        return Array("event: \(type)\ndata: ".utf8) + data.serialized() + Array("\n\n".utf8)
    }

    /// One internal chunk in, the Responses events it implies out.
    mutating func read(_ chunk: JSONValue, _ t: ResponsesTranslator) -> [UInt8] {
        if let error = chunk["error"] {
            return fail(t, code: error["code"]?.stringValue ?? "upstream_error", message: error["message"]?.stringValue ?? "upstream error")
        }
        var out = start(t)
        if let counted = TokenUsage(openAI: chunk["usage"] ?? .null) { usage.merge(counted) }
        guard let choice = chunk["choices"]?[0] else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty { out += appendText(text) }
        for call in delta?["tool_calls"]?.arrayValue ?? [] { out += appendCall(call) }
        if let finish = choice["finish_reason"]?.stringValue { finishReason = finish }
        return out
    }

    private mutating func start(_ t: ResponsesTranslator) -> [UInt8] {
        guard !started else { return [] }
        started = true
        let snapshot = t.response(status: "in_progress", output: [], usage: nil)
        return event("response.created", [.init("response", snapshot)]) + event("response.in_progress", [.init("response", snapshot)])
    }

    private mutating func appendText(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        if open == nil || !isMessage(open) {
            out += closeOpen()
            let id = ResponsesTranslator.newID("msg")
            items.append(.message(id: id, text: ""))
            open = items.count - 1
            out += event("response.output_item.added", [.init("output_index", .int(items.count - 1)),
                                                        .init("item", ResponsesTranslator.messageItem(id: id, text: "", done: false))])
            out += event("response.content_part.added", [.init("item_id", .string(id)), .init("output_index", .int(items.count - 1)),
                                                         .init("content_index", .int(0)), .init("part", ResponsesTranslator.outputText(""))])
        }
        guard let index = open, case .message(let id, let sofar) = items[index] else { return out }
        items[index] = .message(id: id, text: sofar + text)
        return out + event("response.output_text.delta", [.init("item_id", .string(id)), .init("output_index", .int(index)),
                                                          .init("content_index", .int(0)), .init("delta", .string(text)),
                                                          .init("logprobs", .array([]))])
    }

    private mutating func appendCall(_ call: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        let toolIndex = Int(call["index"]?.int64Value ?? 0)
        if toolItems[toolIndex] == nil {
            out += closeOpen()
            let id = ResponsesTranslator.newID("fc")
            let callID = call["id"]?.stringValue ?? ResponsesTranslator.newID("call")
            let name = call["function"]?["name"]?.stringValue ?? ""
            items.append(.functionCall(id: id, callID: callID, name: name, arguments: ""))
            open = items.count - 1
            toolItems[toolIndex] = items.count - 1
            out += event("response.output_item.added", [.init("output_index", .int(items.count - 1)),
                                                        .init("item", ResponsesTranslator.functionCallItem(id: id, callID: callID, name: name,
                                                                                                           arguments: "", done: false))])
        }
        guard let index = toolItems[toolIndex], case .functionCall(let id, let callID, let name, let arguments) = items[index],
              let piece = call["function"]?["arguments"]?.stringValue, !piece.isEmpty else { return out }
        items[index] = .functionCall(id: id, callID: callID, name: name, arguments: arguments + piece)
        // A late piece of an item already closed joins its arguments without an event of its own.
        guard open == index else { return out }
        return out + event("response.function_call_arguments.delta", [.init("item_id", .string(id)), .init("output_index", .int(index)),
                                                                       .init("delta", .string(piece))])
    }

    private func isMessage(_ index: Int?) -> Bool {
        guard let index, case .message = items[index] else { return false }
        return true
    }

    /// The `.done` events of the open item.
    private mutating func closeOpen() -> [UInt8] {
        guard let index = open else { return [] }
        open = nil
        let done = itemJSON(items[index])
        switch items[index] {
        case .message(let id, let text):
            return event("response.output_text.done", [.init("item_id", .string(id)), .init("output_index", .int(index)),
                                                       .init("content_index", .int(0)), .init("text", .string(text)), .init("logprobs", .array([]))])
                + event("response.content_part.done", [.init("item_id", .string(id)), .init("output_index", .int(index)),
                                                       .init("content_index", .int(0)), .init("part", ResponsesTranslator.outputText(text))])
                + event("response.output_item.done", [.init("output_index", .int(index)), .init("item", done)])
        case .functionCall(let id, _, let name, let arguments):
            return event("response.function_call_arguments.done", [.init("item_id", .string(id)), .init("output_index", .int(index)),
                                                                   .init("name", .string(name)), .init("arguments", .string(arguments))])
                + event("response.output_item.done", [.init("output_index", .int(index)), .init("item", done)])
        }
    }

    private func itemJSON(_ item: Item) -> JSONValue {
        switch item {
        case .message(let id, let text): ResponsesTranslator.messageItem(id: id, text: text, done: true)
        case .functionCall(let id, let callID, let name, let arguments):
            ResponsesTranslator.functionCallItem(id: id, callID: callID, name: name, arguments: arguments.isEmpty ? "{}" : arguments, done: true)
        }
    }

    /// The answer ended: the open item closes and the final Response follows, with its usage.
    mutating func finish(_ t: ResponsesTranslator) -> [UInt8] {
        guard !finished else { return [] }
        var out = start(t) + closeOpen()
        finished = true
        let output = items.map(itemJSON)
        let status = ResponsesTranslator.status(finishReason)
        let final = t.response(status: status, output: output, usage: usage, finishReason: finishReason)
        out += event(status == "completed" ? "response.completed" : "response.incomplete", [.init("response", final)])
        t.onFinished?(final, output)
        return out
    }

    /// The stream failed: `response.failed`, carrying the error.
    mutating func fail(_ t: ResponsesTranslator, code: String, message: String) -> [UInt8] {
        guard !finished else { return [] }
        var out = start(t)
        finished = true
        let error = JSONValue.object(["code": .string(code), "message": .string(message)])
        out += event("response.failed", [.init("response", t.response(status: "failed", output: items.map(itemJSON), usage: usage, error: error))])
        return out
    }
}
