/// Internal (OpenAI) answers -> Gemini generateContent answers, complete and streamed. Streams
/// are SSE (`alt=sse`, what the SDKs ask for) or, without it, one JSON array written element by
/// element as Google does.
final class GeminiTranslator: ResponseTranslator {
    let model: String
    let sse: Bool
    private var parser = SSEParser()
    private var sentElements = 0
    private var finishReason: String?
    private var usage = TokenUsage()
    /// Tool calls are sent whole (Gemini has no partial arguments): collected until the finish.
    private var calls: [Int: (name: String, arguments: String)] = [:]
    /// The last response (and, for an array, its `]`) is written: by `[DONE]`, the end of the
    /// body, or an error.
    private var ended = false

    init(model: String, sse: Bool) {
        self.model = model
        self.sse = sse
    }

    var streamContentType: String { sse ? "text/event-stream" : "application/json" }

    func complete(status: Int, body: [UInt8]) -> [UInt8] {
        guard let json = try? JSONParser.parse(body) else { return GoogleErrorBody.body(status: 502, message: "upstream answer is not JSON") }
        guard (200..<300).contains(status), json["error"] == nil else {
            let message = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? "upstream error (HTTP \(status))"
            return GoogleErrorBody.body(status: status, message: message)
        }
        let message = json["choices"]?[0]?["message"]
        var parts: [JSONValue] = []
        if let text = message?["content"]?.stringValue, !text.isEmpty { parts.append(.object(["text": .string(text)])) }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            parts.append(Self.functionCall(name: call["function"]?["name"]?.stringValue ?? "",
                                           arguments: call["function"]?["arguments"]?.stringValue ?? "{}"))
        }
        let reason = Self.finishReason(json["choices"]?[0]?["finish_reason"]?.stringValue)
        return response(parts: parts, finishReason: reason, usage: TokenUsage(openAI: json["usage"] ?? .null)).serialized()
    }

    func response(parts: [JSONValue], finishReason: String?, usage: TokenUsage?) -> JSONValue {
        var candidate: [JSONValue.Member] = [.init("content", .object(["role": .string("model"), "parts": .array(parts)]))]
        if let finishReason { candidate.append(.init("finishReason", .string(finishReason))) }
        candidate.append(.init("index", .int(0)))
        var members: [JSONValue.Member] = [.init("candidates", .array([.object(candidate)]))]
        if let usage { members.append(.init("usageMetadata", Self.usageMetadata(usage))) }
        members.append(.init("modelVersion", .string(model)))
        return .object(members)
    }

    static func functionCall(name: String, arguments: String) -> JSONValue {
        .object(["functionCall": .object(["name": .string(name), "args": (try? JSONParser.parse(arguments)) ?? .object([:])])])
    }

    static func finishReason(_ reason: String?) -> String? {
        switch reason {
        case "length"?: "MAX_TOKENS"
        case "content_filter"?: "SAFETY"
        case nil: nil
        default: "STOP"
        }
    }

    /// Gemini's prompt count includes the cached part, as the internal record does.
    static func usageMetadata(_ usage: TokenUsage) -> JSONValue {
        let prompt = usage.prompt ?? 0, completion = usage.completion ?? 0, thoughts = usage.reasoning ?? 0
        var members: [JSONValue.Member] = [
            .init("promptTokenCount", .int(prompt)), .init("candidatesTokenCount", .int(completion.subtractingSaturated(thoughts))),
            .init("totalTokenCount", .int(prompt.addingSaturated(completion))),
        ]
        if let cached = usage.cacheRead, cached > 0 { members.append(.init("cachedContentTokenCount", .int(cached))) }
        if thoughts > 0 { members.append(.init("thoughtsTokenCount", .int(thoughts))) }
        return .object(members)
    }

    // MARK: Streams

    func streamChunk(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = []
        do {
            try parser.feed(bytes) { event in
                guard !ended else { return }
                if event.isDone { out += finish(); return }
                guard let json = try? JSONParser.parse(event.data) else { return }
                out += read(json)
            }
        } catch {
            out += fail(GoogleErrorBody.object(status: 502, message: "upstream sent an event larger than the gateway accepts"))
        }
        return out
    }

    private func read(_ chunk: JSONValue) -> [UInt8] {
        if let error = chunk["error"] {
            return fail(GoogleErrorBody.object(status: 502, message: error["message"]?.stringValue ?? "upstream error"))
        }
        if let counted = TokenUsage(openAI: chunk["usage"] ?? .null) { usage.merge(counted) }
        guard let choice = chunk["choices"]?[0] else { return [] }
        for call in choice["delta"]?["tool_calls"]?.arrayValue ?? [] {
            let index = Int(call["index"]?.int64Value ?? 0)
            var current = calls[index] ?? ("", "")
            if let name = call["function"]?["name"]?.stringValue, !name.isEmpty { current.name = name }
            current.arguments += call["function"]?["arguments"]?.stringValue ?? ""
            calls[index] = current
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = Self.finishReason(reason) }
        guard let text = choice["delta"]?["content"]?.stringValue, !text.isEmpty else { return [] }
        return element(response(parts: [.object(["text": .string(text)])], finishReason: nil, usage: nil))
    }

    /// `[DONE]`, or the end of the body: the tool calls, the finish reason and the usage, in one
    /// last response.
    private func finish() -> [UInt8] {
        guard !ended else { return [] }
        ended = true
        let parts = calls.keys.sorted().compactMap { calls[$0] }.map { Self.functionCall(name: $0.name, arguments: $0.arguments) }
        var out = element(response(parts: parts.isEmpty ? [.object(["text": .string("")])] : parts,
                                   finishReason: finishReason ?? "STOP", usage: usage))
        if !sse { out += Array("]".utf8) }
        return out
    }

    private func fail(_ error: JSONValue) -> [UInt8] {
        guard !ended else { return [] }
        ended = true
        return element(error) + (sse ? [] : Array("]".utf8))
    }

    /// One streamed response: an SSE event, or the next element of the JSON array.
    private func element(_ value: JSONValue) -> [UInt8] {
        if sse { return Array("data: ".utf8) + value.serialized() + Array("\r\n\r\n".utf8) }
        sentElements += 1
        return Array((sentElements == 1 ? "[" : ",\r\n").utf8) + value.serialized()
    }

    func streamEnd() -> [UInt8] {
        guard !ended else { return [] }
        switch StreamTail.read(&parser) {
        case .cut: return fail(GoogleErrorBody.object(status: 502, message: StreamTail.cutMessage))
        case .event(let json): return read(json) + finish()
        case .none, .done: return finish()
        }
    }
}
