import TollgatePluginKit

/// OpenAI Chat Completions request (the gateway's internal representation) -> Gemini
/// `GenerateContentRequest`. The model is not in the body: it goes in the URL.
public enum GenerateContentRequest {
    public static func fromOpenAI(_ body: [UInt8]) throws(PluginError) -> [UInt8] {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw PluginError(.invalidInput, "request body is not JSON: \(error)") }
        return try fromOpenAI(json).serialized()
    }

    public static func fromOpenAI(_ request: JSONValue) throws(PluginError) -> JSONValue {
        guard case .object = request else { throw PluginError(.invalidInput, "request body must be a JSON object") }
        guard let messages = request["messages"]?.arrayValue else {
            throw PluginError(.invalidInput, "\"messages\" must be an array")
        }
        let converted = try GeminiContents.convert(messages)
        var out: [JSONValue.Member] = [.init("contents", .array(converted.contents))]
        if !converted.systemParts.isEmpty {
            out.append(.init("systemInstruction", .object(["parts": .array(converted.systemParts)])))
        }
        if let tools = try tools(request["tools"]) { out.append(.init("tools", tools)) }
        if let toolConfig = try toolConfig(request["tool_choice"]) { out.append(.init("toolConfig", toolConfig)) }
        let config = try generationConfig(request)
        if !config.isEmpty { out.append(.init("generationConfig", .object(config))) }
        return .object(out)
    }

    // MARK: generationConfig

    static func generationConfig(_ request: JSONValue) throws(PluginError) -> [JSONValue.Member] {
        var config: [JSONValue.Member] = []
        func number(_ from: String, _ to: String) throws(PluginError) {
            switch request[from] {
            case nil, .null?: return
            case .number(let text)?: config.append(.init(to, .number(text)))
            default: throw PluginError(.invalidInput, "\"\(from)\" must be a number")
            }
        }
        try number("temperature", "temperature")
        try number("top_p", "topP")
        try number("top_k", "topK")
        try number("presence_penalty", "presencePenalty")
        try number("frequency_penalty", "frequencyPenalty")
        try number("seed", "seed")
        if request["max_completion_tokens"].map({ !$0.isNull }) == true {
            try number("max_completion_tokens", "maxOutputTokens")
        } else {
            try number("max_tokens", "maxOutputTokens")
        }
        try number("n", "candidateCount")
        switch request["stop"] {
        case nil, .null?: break
        case .string(let s)?: config.append(.init("stopSequences", .array([.string(s)])))
        case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }):
            if !items.isEmpty { config.append(.init("stopSequences", .array(items))) }
        default: throw PluginError(.invalidInput, "\"stop\" must be a string or an array of strings")
        }
        if let format = request["response_format"], !format.isNull {
            switch format["type"]?.stringValue {
            case "text"?: break
            case "json_object"?:
                config.append(.init("responseMimeType", .string("application/json")))
            case "json_schema"?:
                // `responseSchema` (Gemini's OpenAPI subset) rather than `responseJsonSchema`:
                // every Gemini model takes it, at the price of the schema rewrite GeminiSchema does.
                config.append(.init("responseMimeType", .string("application/json")))
                if let schema = format["json_schema"]?["schema"], case .object = schema {
                    config.append(.init("responseSchema", GeminiSchema.convert(schema)))
                }
            default:
                throw PluginError(.invalidInput, "\"response_format.type\" must be text, json_object or json_schema")
            }
        }
        return config
    }

    // MARK: Tools

    static func tools(_ tools: JSONValue?) throws(PluginError) -> JSONValue? {
        guard let tools, !tools.isNull else { return nil }
        guard let list = tools.arrayValue else { throw PluginError(.invalidInput, "\"tools\" must be an array") }
        guard !list.isEmpty else { return nil }
        var declarations: [JSONValue] = []
        for (i, tool) in list.enumerated() {
            guard tool["type"]?.stringValue ?? "function" == "function" else {
                throw PluginError(.unsupported, "tools[\(i)] has type \"\(tool["type"]?.stringValue ?? "")\"; Gemini takes function tools only")
            }
            guard let function = tool["function"], let name = function["name"]?.stringValue, !name.isEmpty else {
                throw PluginError(.invalidInput, "tools[\(i)].function.name is required")
            }
            var declaration: [JSONValue.Member] = [.init("name", .string(name))]
            if let description = function["description"]?.stringValue { declaration.append(.init("description", .string(description))) }
            if let parameters = function["parameters"], case .object = parameters {
                let schema = GeminiSchema.convert(parameters)
                if !GeminiSchema.isEmptyObject(schema) { declaration.append(.init("parameters", schema)) }
            }
            declarations.append(.object(declaration))
        }
        return .array([.object(["functionDeclarations": .array(declarations)])])
    }

    static func toolConfig(_ choice: JSONValue?) throws(PluginError) -> JSONValue? {
        let mode: String
        var names: [JSONValue] = []
        switch choice {
        case nil, .null?: return nil
        case .string("auto")?: mode = "AUTO"
        case .string("none")?: mode = "NONE"
        case .string("required")?: mode = "ANY"
        case .object?:
            guard let name = choice?["function"]?["name"]?.stringValue else {
                throw PluginError(.invalidInput, "\"tool_choice\" object must name a function")
            }
            mode = "ANY"
            names = [.string(name)]
        default: throw PluginError(.invalidInput, "\"tool_choice\" must be auto, none, required or a function")
        }
        var config: [JSONValue.Member] = [.init("mode", .string(mode))]
        if !names.isEmpty { config.append(.init("allowedFunctionNames", .array(names))) }
        return .object(["functionCallingConfig": .object(config)])
    }
}
