import TollgatePluginKit

/// A complete Anthropic answer → an OpenAI chat completion, or an Anthropic error → an OpenAI
/// error with the upstream's status kept (so clients and the router see the real 429 or 529).
enum ResponseConversion {
    static func openAI(_ response: PluginResponse, created: Int64) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(response.status) else { return error(response) }
        let answer: AnswerContent
        do { answer = try response.body.withUnsafeBytes { (bytes) throws in try AnswerContent.read(bytes) } } catch {
            throw PluginError(.upstream, "Anthropic answered HTTP \(response.status) with a body that is not JSON: \(error)")
        }
        guard answer.hasContent else { throw PluginError(.upstream, "Anthropic's answer has no content array") }

        var out = JSONWriter(capacity: response.body.count + 256)
        out.beginObject()
        out.key("id"); out.value(answer.id ?? .string("msg"))
        out.key("object"); out.string("chat.completion")
        out.key("created"); out.int(created)
        out.key("model"); out.string(response.model)
        out.key("choices"); out.beginArray(); out.beginObject()
        out.key("index"); out.int(0)
        out.key("message"); out.beginObject()
        out.key("role"); out.string("assistant")
        // Whether `content` is null depends on all the blocks: the text is joined across them.
        out.key("content"); if answer.text.isEmpty && !answer.toolCalls.isEmpty { out.null() } else { out.string(utf8: answer.text) }
        if !answer.toolCalls.isEmpty { writeToolCalls(answer.toolCalls, into: &out) }
        if !answer.reasoning.isEmpty { out.key("reasoning_content"); out.string(utf8: answer.reasoning) }
        // Signed thinking blocks, for a client to send back on its next turn (see MessageConversion).
        if !answer.thinkingBlocks.isEmpty {
            out.key("thinking_blocks"); out.beginArray()
            for block in answer.thinkingBlocks { out.value(block) }
            out.endArray()
        }
        out.endObject()
        out.key("finish_reason"); out.string(finishReason(answer.stopReason))
        out.endObject(); out.endArray()
        out.key("usage"); answer.usage.tokenUsage.writeOpenAI(AnthropicUsage.openAIStyle, into: &out)
        out.endObject()
        return PluginConvertedResponse(status: response.status, body: out.bytes, usage: answer.usage.tokenUsage)
    }

    /// `tool_use` blocks as OpenAI `tool_calls`, their input as a JSON string of arguments.
    static func writeToolCalls(_ blocks: [JSONValue], into out: inout JSONWriter) {
        out.key("tool_calls"); out.beginArray()
        for block in blocks {
            out.beginObject()
            out.key("id"); out.value(block["id"] ?? .string(""))
            out.key("type"); out.string("function")
            out.key("function"); out.beginObject()
            out.key("name"); out.value(block["name"] ?? .string(""))
            out.key("arguments"); out.string((block["input"] ?? .object([])).jsonString)
            out.endObject()
            out.endObject()
        }
        out.endArray()
    }

    /// Anthropic `stop_reason` → OpenAI `finish_reason`. An unknown or missing reason reads as
    /// `stop`: the answer is complete either way, and a new reason Anthropic adds must not fail
    /// requests (`pause_turn`, a server tool's pause, lands here too).
    static func finishReason(_ reason: String?) -> String {
        switch reason {
        case "max_tokens", "model_context_window_exceeded": "length"
        case "tool_use": "tool_calls"
        case "refusal": "content_filter"
        default: "stop"  // end_turn, stop_sequence, pause_turn, unknown
        }
    }

    /// `{"type":"error","error":{"type","message"}}` → `{"error":{"message","type","param","code"}}`,
    /// the Anthropic error type as both type and code. A body that is not Anthropic's error shape
    /// (a proxy's HTML page) becomes a message quoting its start.
    static func error(_ response: PluginResponse) -> PluginConvertedResponse {
        let json = try? JSONParser.parse(response.body)
        let type = json?["error"]?["type"]?.stringValue
        var message = json?["error"]?["message"]?.stringValue ?? json?["message"]?.stringValue
        if message == nil {
            let start = String(decoding: response.body.prefix(200), as: UTF8.self)
            message = start.isEmpty ? "Anthropic answered HTTP \(response.status)" : "Anthropic answered HTTP \(response.status): \(start)"
        }
        let body = JSONValue.object(["error": .object([
            "message": .string(message ?? ""), "type": .string(type ?? "upstream_error"),
            "param": .null, "code": type.map { .string($0) } ?? .null,
        ])])
        return PluginConvertedResponse(status: response.status, body: body.serialized())
    }
}
