/// OpenAI Responses request (`POST /v1/responses`) -> internal (OpenAI Chat Completions) request.
///
/// Covered: `instructions`; `input` as a string or items (messages with text and image parts,
/// `function_call`, `function_call_output`; `reasoning` items are dropped, the upstream thinks
/// again); function tools and `tool_choice`; `max_output_tokens`, `temperature`, `top_p`;
/// `text.format`; `reasoning.effort`; `parallel_tool_calls`; `user`. `metadata`, `store` and the
/// other echoed fields do not go upstream: the answer carries them back (see `echo`).
enum ResponsesRequest {
    /// The request's fields a Response object repeats, in OpenAI's order, with its defaults.
    static let echoed: [(String, JSONValue)] = [
        ("instructions", .null), ("max_output_tokens", .null), ("metadata", .object([:])),
        ("parallel_tool_calls", .bool(true)), ("previous_response_id", .null), ("reasoning", .object(["effort": .null, "summary": .null])),
        ("store", .bool(true)), ("temperature", .number("1")), ("text", .object(["format": .object(["type": .string("text")])])),
        ("tool_choice", .string("auto")), ("tools", .array([])), ("top_p", .number("1")), ("truncation", .string("disabled")),
        ("user", .null),
    ]

    /// What the Response object repeats of this request.
    static func echo(_ body: JSONValue) -> [JSONValue.Member] {
        echoed.map { name, fallback in
            guard let value = body[name], !value.isNull else { return .init(name, fallback) }
            return .init(name, value)
        }
    }

    /// `history`: the internal messages of earlier turns (`previous_response_id`), put before this input.
    static func toIR(_ body: JSONValue, history: [JSONValue] = []) throws(GatewayError) -> JSONValue {
        guard case .object = body else { throw .badRequest("request body must be a JSON object") }
        guard let model = body["model"]?.stringValue, !model.isEmpty else {
            throw .badRequest("missing required field 'model'", code: "missing_model")
        }
        var messages: [JSONValue] = []
        if let instructions = body["instructions"], !instructions.isNull {
            guard let text = instructions.stringValue else { throw invalid("instructions", "must be a string") }
            messages.append(.object(["role": .string("system"), "content": .string(text)]))
        }
        messages += history
        messages += try inputMessages(body["input"])
        guard !messages.isEmpty else { throw invalid("input", "is required") }

        var out: [JSONValue.Member] = [.init("model", .string(model)), .init("messages", .array(messages))]
        if let limit = present(body, "max_output_tokens") {
            guard let tokens = limit.int64Value, tokens > 0 else { throw invalid("max_output_tokens", "must be a positive integer") }
            out.append(.init("max_completion_tokens", .int(tokens)))
        }
        for name in ["temperature", "top_p"] {
            guard let value = present(body, name) else { continue }
            guard value.doubleValue != nil else { throw invalid(name, "must be a number") }
            out.append(.init(name, value))
        }
        if let parallel = present(body, "parallel_tool_calls") {
            guard parallel.boolValue != nil else { throw invalid("parallel_tool_calls", "must be a boolean") }
            out.append(.init("parallel_tool_calls", parallel))
        }
        if let tools = present(body, "tools") {
            guard let list = tools.arrayValue else { throw invalid("tools", "must be an array") }
            if !list.isEmpty { out.append(.init("tools", .array(try list.enumerated().map { index, tool throws(GatewayError) in try self.tool(tool, at: index) }))) }
        }
        if let choice = present(body, "tool_choice") { out.append(.init("tool_choice", try toolChoice(choice))) }
        if let format = present(body, "text")?["format"], !format.isNull, let converted = try responseFormat(format) {
            out.append(.init("response_format", converted))
        }
        if let effort = present(body, "reasoning")?["effort"], !effort.isNull {
            guard effort.stringValue != nil else { throw invalid("reasoning.effort", "must be a string") }
            out.append(.init("reasoning_effort", effort))
        }
        if let user = present(body, "user") { out.append(.init("user", user)) }
        if let stream = present(body, "stream") {
            guard let wanted = stream.boolValue else { throw invalid("stream", "must be a boolean") }
            if wanted {
                out.append(.init("stream", .bool(true)))
                out.append(.init("stream_options", .object(["include_usage": .bool(true)])))
            }
        }
        return .object(out)
    }

    /// A member that is there and not null.
    private static func present(_ body: JSONValue, _ name: String) -> JSONValue? {
        guard let value = body[name], !value.isNull else { return nil }
        return value
    }

    static func invalid(_ field: String, _ problem: String) -> GatewayError {
        .badRequest("'\(field)' \(problem)", code: "invalid_request")
    }

    // MARK: Input

    /// The internal messages of `input`: a string is one user message; items are turned one by
    /// one, consecutive function calls joining the assistant message before them.
    static func inputMessages(_ input: JSONValue?) throws(GatewayError) -> [JSONValue] {
        guard let input, !input.isNull else { return [] }
        if let text = input.stringValue { return [.object(["role": .string("user"), "content": .string(text)])] }
        guard let items = input.arrayValue else { throw invalid("input", "must be a string or an array of items") }
        var messages: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let field = "input[\(index)]"
            let type = item["type"]?.stringValue ?? (item["role"] != nil ? "message" : nil)
            switch type {
            case "message":
                messages.append(try message(item, field: field))
            case "function_call":
                guard let callID = item["call_id"]?.stringValue, let name = item["name"]?.stringValue else {
                    throw invalid(field, "(function_call) needs call_id and name")
                }
                let call = JSONValue.object(["id": .string(callID), "type": .string("function"),
                                             "function": .object(["name": .string(name), "arguments": .string(item["arguments"]?.stringValue ?? "{}")])])
                appendToolCall(call, to: &messages)
            case "function_call_output":
                guard let callID = item["call_id"]?.stringValue else { throw invalid(field, "(function_call_output) needs call_id") }
                guard let output = item["output"] else { throw invalid(field, "(function_call_output) needs output") }
                messages.append(.object(["role": .string("tool"), "tool_call_id": .string(callID),
                                         "content": .string(try outputText(output, field: field))]))
            case "reasoning":
                continue
            default:
                throw invalid(field, "has an unsupported item type '\(item["type"]?.stringValue ?? "?")'")
            }
        }
        return messages
    }

    /// A function call joins the assistant message just before it, or starts one.
    private static func appendToolCall(_ call: JSONValue, to messages: inout [JSONValue]) {
        if case .object(var members)? = messages.last, members.contains(where: { $0.key == "role" && $0.value == .string("assistant") }) {
            if let at = members.firstIndex(where: { $0.key == "tool_calls" }), case .array(let calls) = members[at].value {
                members[at].value = .array(calls + [call])
            } else {
                members.append(.init("tool_calls", .array([call])))
            }
            messages[messages.count - 1] = .object(members)
        } else {
            messages.append(.object(["role": .string("assistant"), "content": .null, "tool_calls": .array([call])]))
        }
    }

    static func message(_ item: JSONValue, field: String) throws(GatewayError) -> JSONValue {
        guard let role = item["role"]?.stringValue, ["user", "assistant", "system", "developer"].contains(role) else {
            throw invalid("\(field).role", "must be user, assistant, system or developer")
        }
        let irRole = role == "developer" ? "system" : role
        guard let content = item["content"] else { throw invalid("\(field).content", "is required") }
        if let text = content.stringValue { return .object(["role": .string(irRole), "content": .string(text)]) }
        guard let parts = content.arrayValue else { throw invalid("\(field).content", "must be a string or an array of parts") }
        var converted: [JSONValue] = []
        for (index, part) in parts.enumerated() {
            let where_ = "\(field).content[\(index)]"
            switch part["type"]?.stringValue {
            case "input_text", "output_text", "text":
                guard let text = part["text"]?.stringValue else { throw invalid(where_, "needs text") }
                converted.append(.object(["type": .string("text"), "text": .string(text)]))
            case "refusal":
                converted.append(.object(["type": .string("text"), "text": part["refusal"] ?? .string("")]))
            case "input_image":
                guard let url = part["image_url"]?.stringValue else { throw invalid(where_, "(input_image) needs image_url; file_id is not supported") }
                var image: [JSONValue.Member] = [.init("url", .string(url))]
                if let detail = part["detail"], !detail.isNull { image.append(.init("detail", detail)) }
                converted.append(.object(["type": .string("image_url"), "image_url": .object(image)]))
            default:
                throw invalid(where_, "has an unsupported content type '\(part["type"]?.stringValue ?? "?")'")
            }
        }
        // Assistant and system turns are text in the internal dialect.
        if irRole != "user" {
            return .object(["role": .string(irRole), "content": .string(converted.compactMap { $0["text"]?.stringValue }.joined())])
        }
        return .object(["role": .string("user"), "content": .array(converted)])
    }

    /// A function call's output: a string, or content parts whose text is joined.
    private static func outputText(_ output: JSONValue, field: String) throws(GatewayError) -> String {
        if let text = output.stringValue { return text }
        guard let parts = output.arrayValue else { throw invalid("\(field).output", "must be a string or an array of parts") }
        return parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }

    // MARK: Tools and formats

    static func tool(_ tool: JSONValue, at index: Int) throws(GatewayError) -> JSONValue {
        guard tool["type"]?.stringValue == "function" else {
            throw invalid("tools[\(index)].type", "'\(tool["type"]?.stringValue ?? "?")' is not supported: only function tools are")
        }
        guard let name = tool["name"]?.stringValue, !name.isEmpty else { throw invalid("tools[\(index)].name", "is required") }
        var function: [JSONValue.Member] = [.init("name", .string(name))]
        if let description = tool["description"], !description.isNull { function.append(.init("description", description)) }
        function.append(.init("parameters", tool["parameters"].flatMap { $0.isNull ? nil : $0 } ?? .object(["type": .string("object")])))
        if let strict = tool["strict"], !strict.isNull { function.append(.init("strict", strict)) }
        return .object(["type": .string("function"), "function": .object(function)])
    }

    static func toolChoice(_ choice: JSONValue) throws(GatewayError) -> JSONValue {
        if let mode = choice.stringValue {
            guard ["auto", "none", "required"].contains(mode) else { throw invalid("tool_choice", "must be auto, none, required or a function") }
            return choice
        }
        guard choice["type"]?.stringValue == "function", let name = choice["name"]?.stringValue else {
            throw invalid("tool_choice", "must be auto, none, required or {\"type\":\"function\",\"name\":...}")
        }
        return .object(["type": .string("function"), "function": .object(["name": .string(name)])])
    }

    /// `text.format` as a chat `response_format` (nil for plain text).
    static func responseFormat(_ format: JSONValue) throws(GatewayError) -> JSONValue? {
        switch format["type"]?.stringValue {
        case "text": return nil
        case "json_object": return .object(["type": .string("json_object")])
        case "json_schema":
            guard let name = format["name"]?.stringValue, let schema = format["schema"], case .object = schema else {
                throw invalid("text.format", "of type json_schema needs name and schema")
            }
            var members: [JSONValue.Member] = [.init("name", .string(name)), .init("schema", schema)]
            for optional in ["description", "strict"] {
                if let value = format[optional], !value.isNull { members.append(.init(optional, value)) }
            }
            return .object(["type": .string("json_schema"), "json_schema": .object(members)])
        default:
            throw invalid("text.format.type", "must be text, json_object or json_schema")
        }
    }
}
