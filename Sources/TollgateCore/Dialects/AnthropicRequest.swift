/// Anthropic Messages request -> internal (OpenAI Chat Completions) request.
enum AnthropicRequest {
    static func toIR(_ body: JSONValue) throws(GatewayError) -> JSONValue {
        guard case .object = body else { throw .badRequest("request body must be a JSON object") }
        guard let model = body["model"]?.stringValue else { throw .badRequest("missing required field 'model'", code: "missing_model") }
        guard let messages = body["messages"]?.arrayValue else { throw .badRequest("'messages' must be an array") }
        var out: [JSONValue.Member] = [.init("model", .string(model))]
        var irMessages: [JSONValue] = []
        if let system = body["system"] {
            irMessages.append(.object(["role": .string("system"), "content": .string(try text(of: system, field: "system"))]))
        }
        for (index, message) in messages.enumerated() {
            irMessages += try convert(message, at: index)
        }
        out.append(.init("messages", .array(irMessages)))
        if let maxTokens = body["max_tokens"] { out.append(.init("max_tokens", maxTokens)) }
        for (from, to) in [("temperature", "temperature"), ("top_p", "top_p")] {
            if let value = body[from] { out.append(.init(to, value)) }
        }
        if let stops = body["stop_sequences"] { out.append(.init("stop", stops)) }
        if body["stream"]?.boolValue == true {
            out.append(.init("stream", .bool(true)))
            out.append(.init("stream_options", .object(["include_usage": .bool(true)])))
        }
        if let tools = body["tools"]?.arrayValue { out.append(.init("tools", .array(try tools.map(tool)))) }
        if let choice = body["tool_choice"] { out += try toolChoice(choice) }
        if let user = body["metadata"]?["user_id"] { out.append(.init("user", user)) }
        return .object(out)
    }

    /// A system prompt or tool result: a string, or text blocks joined.
    static func text(of value: JSONValue, field: String) throws(GatewayError) -> String {
        if let s = value.stringValue { return s }
        guard let blocks = value.arrayValue else { throw .badRequest("'\(field)' must be a string or an array of blocks") }
        return blocks.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }

    /// One Anthropic message becomes one or more OpenAI messages: tool results are messages of
    /// their own (role `tool`), and any text beside them follows as a user message.
    static func convert(_ message: JSONValue, at index: Int) throws(GatewayError) -> [JSONValue] {
        guard let role = message["role"]?.stringValue, role == "user" || role == "assistant" else {
            throw .badRequest("messages[\(index)].role must be 'user' or 'assistant'")
        }
        guard let content = message["content"] else { throw .badRequest("messages[\(index)].content is missing") }
        if let text = content.stringValue { return [.object(["role": .string(role), "content": .string(text)])] }
        guard let blocks = content.arrayValue else { throw .badRequest("messages[\(index)].content must be a string or an array") }
        var turn = IRTurn()
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text":
                turn.parts.append(.object(["type": .string("text"), "text": block["text"] ?? .string("")]))
            case "image":
                turn.parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string(try imageURL(block["source"], at: index))])]))
            case "tool_use":
                let input = block["input"] ?? .object([])
                turn.toolCalls.append(.object([
                    "id": block["id"] ?? .string(""), "type": .string("function"),
                    "function": .object(["name": block["name"] ?? .string(""), "arguments": .string(input.jsonString)]),
                ]))
            case "tool_result":
                let content = try block["content"].map { value throws(GatewayError) in try text(of: value, field: "tool_result.content") } ?? ""
                turn.results.append(.object(["role": .string("tool"), "tool_call_id": block["tool_use_id"] ?? .string(""), "content": .string(content)]))
            case "thinking", "redacted_thinking":
                continue  // the internal dialect has no place for them; the upstream thinks again
            default:
                throw .badRequest("messages[\(index)] has an unsupported content block type '\(block["type"]?.stringValue ?? "?")'")
            }
        }
        return turn.messages(fromAssistant: role == "assistant")
    }

    static func imageURL(_ source: JSONValue?, at index: Int) throws(GatewayError) -> String {
        switch source?["type"]?.stringValue {
        case "base64":
            guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                throw .badRequest("messages[\(index)] image source needs media_type and data")
            }
            return "data:\(media);base64,\(data)"
        case "url":
            guard let url = source?["url"]?.stringValue else { throw .badRequest("messages[\(index)] image source needs url") }
            return url
        default:
            throw .badRequest("messages[\(index)] has an image with an unsupported source")
        }
    }

    static func tool(_ tool: JSONValue) throws(GatewayError) -> JSONValue {
        guard let name = tool["name"]?.stringValue else { throw .badRequest("every tool needs a name") }
        var function: [JSONValue.Member] = [.init("name", .string(name))]
        if let description = tool["description"] { function.append(.init("description", description)) }
        function.append(.init("parameters", tool["input_schema"] ?? .object(["type": .string("object")])))
        return .object(["type": .string("function"), "function": .object(function)])
    }

    static func toolChoice(_ choice: JSONValue) throws(GatewayError) -> [JSONValue.Member] {
        var members: [JSONValue.Member] = []
        switch choice["type"]?.stringValue {
        case "auto": members.append(.init("tool_choice", .string("auto")))
        case "any": members.append(.init("tool_choice", .string("required")))
        case "none": members.append(.init("tool_choice", .string("none")))
        case "tool":
            guard let name = choice["name"] else { throw .badRequest("tool_choice of type 'tool' needs a name") }
            members.append(.init("tool_choice", .object(["type": .string("function"), "function": .object(["name": name])])))
        default: throw .badRequest("tool_choice.type must be auto, any, tool or none")
        }
        if choice["disable_parallel_tool_use"]?.boolValue == true { members.append(.init("parallel_tool_calls", .bool(false))) }
        return members
    }
}
