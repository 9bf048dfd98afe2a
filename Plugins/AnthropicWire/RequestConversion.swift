import TollgatePluginKit

/// An OpenAI Chat Completions request (the gateway's internal representation) → an Anthropic
/// Messages request.
///
/// Choices worth knowing:
/// - `max_tokens` is required by Anthropic: `max_completion_tokens`, else `max_tokens`, else the
///   channel's `options.max_tokens_default`, else the model's ceiling (`MaxOutputTokens`).
/// - JSON mode: Anthropic has no `response_format`; `json_object` (and `json_schema`, with its
///   schema) become an instruction appended to `system`. An assistant prefill of `{` would be
///   firmer but changes the answer's text and breaks conversations that end with an assistant
///   turn, so the instruction it is.
/// - `reasoning_effort` low/medium/high turns on extended thinking with a budget of
///   1024/4096/16384 tokens (kept below `max_tokens`; below Anthropic's minimum of 1024 it stays
///   off). Thinking is not compatible with `temperature`/`top_p`/`top_k`, so those are not sent
///   with it; it stays off when `tool_choice` forces a tool or when the last assistant turn
///   calls tools without its `thinking_blocks` (Anthropic needs them replayed). A client may also
///   send Anthropic's own `thinking` object, which goes through as is.
/// - Dropped, having no Anthropic counterpart: `seed`, `logprobs`, `top_logprobs`,
///   `presence_penalty`, `frequency_penalty`, `logit_bias`, `modalities`, `audio`,
///   `service_tier`, `store`, `metadata`, `stream_options` (the core handles usage). `n` > 1 is
///   refused: Anthropic answers once.
/// - `temperature` goes as it is: Anthropic's range is 0-1 and it refuses more, rather than the
///   plugin quietly changing a client's value.
struct RequestConversion {
    var maxTokensDefault: Int64?
    /// Anthropic on a cloud platform (Vertex AI, Bedrock InvokeModel): the body carries this
    /// `anthropic_version` and no `model` (the model is in the URL).
    var platformVersion: String? = nil

    static let thinkingBudgets: [String: Int64] = ["low": 1024, "medium": 4096, "high": 16384]
    static let jsonInstruction = "Respond only with a single valid JSON object, without any text, explanation or code fence around it."

    func anthropicBody(from request: JSONValue, model: String, stream: Bool) throws(PluginError) -> JSONValue {
        guard case .object = request else { throw PluginError(.invalidInput, "request body must be a JSON object") }
        if let n = request["n"]?.int64Value, n > 1 { throw PluginError(.unsupported, "n > 1 is not supported by Claude") }

        var messages = MessageConversion()
        try messages.add(request["messages"] ?? .null)
        if let instruction = try jsonModeInstruction(request["response_format"]) { messages.appendSystem(instruction) }

        let maxTokens = try requestedMaxTokens(request) ?? maxTokensDefault ?? MaxOutputTokens.forModel(model)
        var body: [JSONValue.Member] = if let platformVersion {
            [.init("anthropic_version", .string(platformVersion)), .init("max_tokens", .int(maxTokens))]
        } else {
            [.init("model", .string(model)), .init("max_tokens", .int(maxTokens))]
        }
        if let system = messages.systemValue { body.append(.init("system", system)) }
        body.append(.init("messages", messages.messagesValue))

        var forcesTool = false
        if let tools = try Self.tools(request["tools"]) {
            body.append(.init("tools", tools))
            if let choice = try Self.toolChoice(request["tool_choice"], parallel: request["parallel_tool_calls"]?.boolValue) {
                forcesTool = ["any", "tool"].contains(choice["type"]?.stringValue ?? "")
                body.append(.init("tool_choice", choice))
            }
        }
        if let stops = try Self.stopSequences(request["stop"]) { body.append(.init("stop_sequences", stops)) }

        let thinking = try self.thinking(request, maxTokens: maxTokens, forcesTool: forcesTool,
                                         lacksReplay: messages.lastAssistantTurnLacksThinking)
        if thinking == nil || request["thinking"] != nil {
            for name in ["temperature", "top_p", "top_k"] {
                if let value = request[name], case .number = value { body.append(.init(name, value)) }
            }
        }
        if let thinking { body.append(.init("thinking", thinking)) }
        if let user = request["user"]?.stringValue, !user.isEmpty {
            body.append(.init("metadata", .object(["user_id": .string(user)])))
        }
        if stream { body.append(.init("stream", .bool(true))) }
        return .object(body)
    }

    // MARK: - Fields

    private func requestedMaxTokens(_ request: JSONValue) throws(PluginError) -> Int64? {
        for name in ["max_completion_tokens", "max_tokens"] {
            guard let value = request[name], !value.isNull else { continue }
            guard let count = value.int64Value, count > 0 else {
                throw PluginError(.invalidInput, "\(name) must be a positive integer")
            }
            return count
        }
        return nil
    }

    private func jsonModeInstruction(_ format: JSONValue?) throws(PluginError) -> String? {
        guard let format, !format.isNull else { return nil }
        switch format["type"]?.stringValue {
        case "text": return nil
        case "json_object": return Self.jsonInstruction
        case "json_schema":
            guard let schema = format["json_schema"]?["schema"] else {
                throw PluginError(.invalidInput, "response_format.json_schema.schema is required")
            }
            return Self.jsonInstruction + " The JSON must conform to this JSON schema: " + schema.jsonString
        default:
            throw PluginError(.invalidInput, "response_format.type must be text, json_object or json_schema")
        }
    }

    /// `reasoning_effort` → `thinking` (see the type's notes); a client's own `thinking` wins.
    private func thinking(_ request: JSONValue, maxTokens: Int64, forcesTool: Bool, lacksReplay: Bool) throws(PluginError) -> JSONValue? {
        if let given = request["thinking"], !given.isNull { return given }
        guard let effort = request["reasoning_effort"]?.stringValue else { return nil }
        if effort == "minimal" || effort == "none" { return nil }
        guard let wanted = Self.thinkingBudgets[effort] else {
            throw PluginError(.invalidInput, "reasoning_effort must be none, minimal, low, medium or high")
        }
        let budget = min(wanted, maxTokens - 1)
        guard budget >= 1024, !forcesTool, !lacksReplay else { return nil }
        return .object(["type": .string("enabled"), "budget_tokens": .int(budget)])
    }

    /// OpenAI function tools → Anthropic tools (`name`, `description`, `input_schema`). Nil when
    /// there are none.
    static func tools(_ value: JSONValue?) throws(PluginError) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        guard let list = value.arrayValue else { throw PluginError(.invalidInput, "tools must be an array") }
        if list.isEmpty { return nil }
        var tools: [JSONValue] = []
        for (index, tool) in list.enumerated() {
            guard tool["type"]?.stringValue == "function", let function = tool["function"] else {
                throw PluginError(.unsupported, "tools[\(index)]: only function tools are supported by Claude")
            }
            guard let name = function["name"]?.stringValue, !name.isEmpty else {
                throw PluginError(.invalidInput, "tools[\(index)].function.name is required")
            }
            var members: [JSONValue.Member] = [.init("name", .string(name))]
            if let description = function["description"]?.stringValue { members.append(.init("description", .string(description))) }
            let schema = function["parameters"].flatMap { $0.isNull ? nil : $0 }
                ?? .object(["type": .string("object"), "properties": .object([])])
            members.append(.init("input_schema", schema))
            if let cache = tool["cache_control"] ?? function["cache_control"], !cache.isNull { members.append(.init("cache_control", cache)) }
            tools.append(.object(members))
        }
        return .array(tools)
    }

    /// `tool_choice` and `parallel_tool_calls: false` → Anthropic's `tool_choice`.
    static func toolChoice(_ value: JSONValue?, parallel: Bool?) throws(PluginError) -> JSONValue? {
        var choice: [JSONValue.Member]?
        switch value {
        case nil, .null?: choice = nil
        case .string("auto")?: choice = [.init("type", .string("auto"))]
        case .string("required")?: choice = [.init("type", .string("any"))]
        case .string("none")?: choice = [.init("type", .string("none"))]
        case .object?:
            guard value?["type"]?.stringValue == "function", let name = value?["function"]?["name"]?.stringValue else {
                throw PluginError(.invalidInput, "tool_choice must name a function: {\"type\":\"function\",\"function\":{\"name\":...}}")
            }
            choice = [.init("type", .string("tool")), .init("name", .string(name))]
        default:
            throw PluginError(.invalidInput, "tool_choice must be auto, required, none or a function")
        }
        if parallel == false {
            var members = choice ?? [.init("type", .string("auto"))]
            if members.first?.value.stringValue != "none" { members.append(.init("disable_parallel_tool_use", .bool(true))) }
            choice = members
        }
        return choice.map { .object($0) }
    }

    /// `stop` (a string or an array of strings) → `stop_sequences`; nil when there are none.
    static func stopSequences(_ value: JSONValue?) throws(PluginError) -> JSONValue? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : .array([.string(text)])
        case .array(let items)?:
            var stops: [JSONValue] = []
            for item in items {
                guard let text = item.stringValue else { throw PluginError(.invalidInput, "stop must be a string or an array of strings") }
                if !text.isEmpty { stops.append(.string(text)) }
            }
            return stops.isEmpty ? nil : .array(stops)
        default:
            throw PluginError(.invalidInput, "stop must be a string or an array of strings")
        }
    }
}
