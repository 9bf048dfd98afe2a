import TollgatePluginKit

/// A complete Anthropic answer → an OpenAI chat completion, or an Anthropic error → an OpenAI
/// error with the upstream's status kept (so clients and the router see the real 429 or 529).
enum ResponseConversion {
    static func openAI(_ response: PluginResponse, created: Int64) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(response.status) else { return error(response) }
        let json: JSONValue
        do { json = try JSONParser.parse(response.body) } catch {
            throw PluginError(.upstream, "Anthropic answered HTTP \(response.status) with a body that is not JSON: \(error)")
        }
        guard case .object = json, let content = json["content"]?.arrayValue else {
            throw PluginError(.upstream, "Anthropic's answer has no content array")
        }
        var usage = AnthropicUsage()
        usage.read(json["usage"])

        var text = ""
        var reasoning = ""
        var thinkingBlocks: [JSONValue] = []
        var toolCalls: [JSONValue] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text": text += block["text"]?.stringValue ?? ""
            case "tool_use":
                toolCalls.append(.object([
                    "id": block["id"] ?? .string(""), "type": .string("function"),
                    "function": .object(["name": block["name"] ?? .string(""),
                                         "arguments": .string((block["input"] ?? .object([])).jsonString)]),
                ]))
            case "thinking":
                reasoning += block["thinking"]?.stringValue ?? ""
                thinkingBlocks.append(block)
            case "redacted_thinking": thinkingBlocks.append(block)
            default: break  // server tool blocks and future kinds have no OpenAI counterpart
            }
        }
        var message: [JSONValue.Member] = [.init("role", .string("assistant")),
                                            .init("content", text.isEmpty && !toolCalls.isEmpty ? .null : .string(text))]
        if !toolCalls.isEmpty { message.append(.init("tool_calls", .array(toolCalls))) }
        if !reasoning.isEmpty { message.append(.init("reasoning_content", .string(reasoning))) }
        // Signed thinking blocks, for a client to send back on its next turn (see MessageConversion).
        if !thinkingBlocks.isEmpty { message.append(.init("thinking_blocks", .array(thinkingBlocks))) }

        let body = JSONValue.object([
            "id": json["id"] ?? .string("msg"),
            "object": .string("chat.completion"),
            "created": .int(created),
            "model": .string(response.model),
            "choices": .array([.object([
                "index": .int(0), "message": .object(message),
                "finish_reason": .string(finishReason(json["stop_reason"]?.stringValue)),
            ])]),
            "usage": usage.openAIJSON,
        ])
        return PluginConvertedResponse(status: response.status, body: body.serialized(), usage: usage.tokenUsage)
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
