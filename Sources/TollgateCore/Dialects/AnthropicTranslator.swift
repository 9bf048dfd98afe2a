/// Internal (OpenAI) answers -> Anthropic Messages answers, complete and streamed.
final class AnthropicTranslator: ResponseTranslator {
    let model: String
    private var parser = SSEParser()
    private var stream = AnthropicStreamState()

    init(model: String) { self.model = model }

    var streamContentType: String { "text/event-stream" }

    func complete(status: Int, body: [UInt8]) -> [UInt8] {
        guard let json = try? JSONParser.parse(body) else {
            return AnthropicErrors.body(status: 502, message: "upstream answer is not JSON")
        }
        guard (200..<300).contains(status), json["error"] == nil else {
            let message = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? "upstream error (HTTP \(status))"
            return AnthropicErrors.body(status: status, message: message)
        }
        return Self.message(from: json, model: model).serialized()
    }

    /// A chat.completion as an Anthropic `message`.
    static func message(from json: JSONValue, model: String) -> JSONValue {
        let choice = json["choices"]?[0]
        let message = choice?["message"]
        var content: [JSONValue] = []
        if let text = message?["content"]?.stringValue, !text.isEmpty {
            content.append(.object(["type": .string("text"), "text": .string(text)]))
        }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            content.append(toolUse(id: call["id"]?.stringValue ?? "", name: call["function"]?["name"]?.stringValue ?? "",
                                   arguments: call["function"]?["arguments"]?.stringValue ?? "{}"))
        }
        let id = json["id"]?.stringValue.map { "msg_\($0)" } ?? "msg_tollgate"
        return .object([
            "id": .string(id), "type": .string("message"), "role": .string("assistant"), "model": .string(model),
            "content": .array(content),
            "stop_reason": stopReason(choice?["finish_reason"]?.stringValue), "stop_sequence": .null,
            "usage": usage(TokenUsage(openAI: json["usage"] ?? .null) ?? TokenUsage()),
        ])
    }

    static func toolUse(id: String, name: String, arguments: String) -> JSONValue {
        let input = (try? JSONParser.parse(arguments)) ?? .object([:])
        return .object(["type": .string("tool_use"), "id": .string(id), "name": .string(name), "input": input])
    }

    static func stopReason(_ finish: String?) -> JSONValue {
        switch finish {
        case "stop"?: .string("end_turn")
        case "length"?: .string("max_tokens")
        case "tool_calls"?, "function_call"?: .string("tool_use")
        case "content_filter"?: .string("refusal")
        case nil: .null
        default: .string("end_turn")
        }
    }

    /// Anthropic counts input without the cached part: input = prompt - cache read - cache write.
    static func usage(_ usage: TokenUsage) -> JSONValue {
        let cacheRead = usage.cacheRead ?? 0, cacheCreation = usage.cacheCreation ?? 0
        return .object([
            "input_tokens": .int(max(0, (usage.prompt ?? 0) - cacheRead - cacheCreation)),
            "output_tokens": .int(usage.completion ?? 0),
            "cache_read_input_tokens": .int(cacheRead), "cache_creation_input_tokens": .int(cacheCreation),
        ])
    }

    // MARK: Streams

    func streamChunk(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        do {
            try parser.feed(bytes) { event in
                if event.isDone { out += stream.finish(model: model); return }
                guard let json = try? JSONParser.parse(event.data) else { return }
                out += stream.read(json, model: model)
            }
        } catch {
            out += AnthropicErrors.event(status: 502, message: "upstream sent an event larger than the gateway accepts")
        }
        return out
    }

    func streamEnd() -> [UInt8] {
        switch StreamTail.read(&parser) {
        case .cut: return stream.fail(StreamTail.cutMessage)
        case .event(let json): return stream.read(json, model: model) + stream.finish(model: model)
        case .none, .done: return stream.finish(model: model)
        }
    }
}

/// Where an Anthropic stream stands while OpenAI chunks are turned into its events.
struct AnthropicStreamState {
    private var started = false
    private var finished = false
    private var openBlock: Int?
    private var openIsText = false
    private var nextBlock = 0
    private var toolBlocks: [Int: Int] = [:]  // OpenAI tool_call index -> content block index
    private var stopReason: JSONValue = .null
    private var usage = TokenUsage()

    static func event(_ name: String, _ data: JSONValue) -> [UInt8] {
        Array("event: \(name)\ndata: ".utf8) + data.serialized() + Array("\n\n".utf8)
    }

    /// One OpenAI chunk in, the Anthropic events it implies out.
    mutating func read(_ chunk: JSONValue, model: String) -> [UInt8] {
        guard !finished else { return [] }
        if let error = chunk["error"] { return fail(error["message"]?.stringValue ?? "upstream error") }
        var out = start(id: chunk["id"]?.stringValue, model: model)
        if let counted = TokenUsage(openAI: chunk["usage"] ?? .null) { usage.merge(counted) }
        guard let choice = chunk["choices"]?[0] else { return out }
        let delta = choice["delta"]
        if let text = delta?["content"]?.stringValue, !text.isEmpty {
            if openBlock == nil || !openIsText { out += open(.object(["type": .string("text"), "text": .string("")]), text: true) }
            out += Self.event("content_block_delta", .object(["type": .string("content_block_delta"), "index": .int(openBlock ?? 0),
                                                               "delta": .object(["type": .string("text_delta"), "text": .string(text)])]))
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let toolIndex = Int(call["index"]?.int64Value ?? 0)
            if toolBlocks[toolIndex] == nil {
                out += open(.object(["type": .string("tool_use"), "id": call["id"] ?? .string("toolu_\(toolIndex)"),
                                     "name": call["function"]?["name"] ?? .string(""), "input": .object([:])]), text: false)
                toolBlocks[toolIndex] = openBlock
            }
            if let arguments = call["function"]?["arguments"]?.stringValue, !arguments.isEmpty {
                out += Self.event("content_block_delta", .object([
                    "type": .string("content_block_delta"), "index": .int(toolBlocks[toolIndex] ?? 0),
                    "delta": .object(["type": .string("input_json_delta"), "partial_json": .string(arguments)]),
                ]))
            }
        }
        if let finish = choice["finish_reason"]?.stringValue {
            stopReason = AnthropicTranslator.stopReason(finish)
            out += close()
        }
        return out
    }

    private mutating func start(id: String?, model: String) -> [UInt8] {
        guard !started else { return [] }
        started = true
        return Self.event("message_start", .object(["type": .string("message_start"), "message": .object([
            "id": .string("msg_\(id ?? "tollgate")"), "type": .string("message"), "role": .string("assistant"),
            "model": .string(model), "content": .array([]), "stop_reason": .null, "stop_sequence": .null,
            "usage": .object(["input_tokens": .int(0), "output_tokens": .int(0)]),
        ])]))
    }

    private mutating func open(_ block: JSONValue, text: Bool) -> [UInt8] {
        var out = close()
        openBlock = nextBlock
        openIsText = text
        nextBlock += 1
        out += Self.event("content_block_start", .object(["type": .string("content_block_start"), "index": .int(openBlock ?? 0),
                                                         "content_block": block]))
        return out
    }

    private mutating func close() -> [UInt8] {
        guard let index = openBlock else { return [] }
        openBlock = nil
        return Self.event("content_block_stop", .object(["type": .string("content_block_stop"), "index": .int(index)]))
    }

    /// Ends the stream with an error event.
    mutating func fail(_ message: String) -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        return AnthropicErrors.event(status: 502, message: message)
    }

    /// `[DONE]`, or the end of the body: the closing events, with the usage the last chunk carried.
    mutating func finish(model: String) -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        var out = start(id: nil, model: model) + close()
        out += Self.event("message_delta", .object([
            "type": .string("message_delta"),
            "delta": .object(["stop_reason": stopReason, "stop_sequence": .null]),
            "usage": AnthropicTranslator.usage(usage),
        ]))
        out += Self.event("message_stop", .object(["type": .string("message_stop")]))
        return out
    }
}

/// Anthropic's error shapes: `{"type":"error","error":{"type":...,"message":...}}`.
enum AnthropicErrors {
    static func type(for status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503, 529: "overloaded_error"
        case 400..<500: "invalid_request_error"
        default: "api_error"
        }
    }

    static func object(status: Int, message: String) -> JSONValue {
        .object(["type": .string("error"), "error": .object(["type": .string(type(for: status)), "message": .string(message)])])
    }

    static func body(status: Int, message: String) -> [UInt8] { object(status: status, message: message).serialized() }

    static func event(status: Int, message: String) -> [UInt8] {
        AnthropicStreamState.event("error", object(status: status, message: message))
    }
}
