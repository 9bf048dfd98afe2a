/// Gemini generateContent request -> internal (OpenAI Chat Completions) request. Google's API
/// accepts snake_case field names beside camelCase (google-genai sends some), so both are read.
enum GeminiRequest {
    static func toIR(_ body: JSONValue, model: String, stream: Bool) throws(GatewayError) -> JSONValue {
        guard case .object = body else { throw .badRequest("request body must be a JSON object") }
        guard let contents = field(body, "contents")?.arrayValue else { throw .badRequest("'contents' must be an array") }
        var messages: [JSONValue] = []
        if let system = field(body, "systemInstruction", "system_instruction") {
            let text = (field(system, "parts")?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            messages.append(.object(["role": .string("system"), "content": .string(text)]))
        }
        var callIDs = CallIDs()
        for (index, content) in contents.enumerated() {
            messages += try convert(content, at: index, callIDs: &callIDs)
        }
        var out: [JSONValue.Member] = [.init("model", .string(model)), .init("messages", .array(messages))]
        if let config = field(body, "generationConfig", "generation_config") { out += generation(config) }
        if stream {
            out.append(.init("stream", .bool(true)))
            out.append(.init("stream_options", .object(["include_usage": .bool(true)])))
        }
        let declarations = (field(body, "tools")?.arrayValue ?? []).flatMap {
            field($0, "functionDeclarations", "function_declarations")?.arrayValue ?? []
        }
        if !declarations.isEmpty { out.append(.init("tools", .array(try declarations.map(tool)))) }
        if let config = field(body, "toolConfig", "tool_config"), let calling = field(config, "functionCallingConfig", "function_calling_config") {
            out += toolChoice(calling)
        }
        return .object(out)
    }

    /// The value of a field under its camelCase or snake_case name.
    static func field(_ value: JSONValue, _ names: String...) -> JSONValue? {
        for name in names { if let found = value[name] { return found } }
        return nil
    }

    /// Gemini names no call ids: ids are made up per function call and found again by name.
    struct CallIDs {
        var count = 0
        var byName: [String: [String]] = [:]
        mutating func make(_ name: String) -> String {
            count += 1
            let id = "call_\(count)"
            byName[name, default: []].append(id)
            return id
        }
        mutating func take(_ name: String) -> String {
            guard var ids = byName[name], !ids.isEmpty else { return make(name) }
            let id = ids.removeFirst()
            byName[name] = ids
            return id
        }
    }

    static func convert(_ content: JSONValue, at index: Int, callIDs: inout CallIDs) throws(GatewayError) -> [JSONValue] {
        let role = content["role"]?.stringValue ?? "user"
        guard role == "user" || role == "model" else { throw .badRequest("contents[\(index)].role must be 'user' or 'model'") }
        guard let parts = content["parts"]?.arrayValue else { throw .badRequest("contents[\(index)].parts must be an array") }
        var turn = IRTurn()
        for part in parts {
            if let text = part["text"]?.stringValue {
                if part["thought"]?.boolValue == true { continue }
                turn.parts.append(.object(["type": .string("text"), "text": .string(text)]))
            } else if let inline = field(part, "inlineData", "inline_data") {
                let mime = field(inline, "mimeType", "mime_type")?.stringValue ?? "application/octet-stream"
                let data = inline["data"]?.stringValue ?? ""
                turn.parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string("data:\(mime);base64,\(data)")])]))
            } else if let file = field(part, "fileData", "file_data"), let uri = field(file, "fileUri", "file_uri")?.stringValue {
                turn.parts.append(.object(["type": .string("image_url"), "image_url": .object(["url": .string(uri)])]))
            } else if let call = field(part, "functionCall", "function_call") {
                let name = call["name"]?.stringValue ?? ""
                turn.toolCalls.append(.object([
                    "id": .string(call["id"]?.stringValue ?? callIDs.make(name)), "type": .string("function"),
                    "function": .object(["name": .string(name), "arguments": .string((call["args"] ?? .object([])).jsonString)]),
                ]))
            } else if let response = field(part, "functionResponse", "function_response") {
                let name = response["name"]?.stringValue ?? ""
                let id = response["id"]?.stringValue ?? callIDs.take(name)
                turn.results.append(.object(["role": .string("tool"), "tool_call_id": .string(id),
                                        "content": .string((response["response"] ?? .object([])).jsonString)]))
            } else {
                throw .badRequest("contents[\(index)] has a part of an unsupported kind")
            }
        }
        return turn.messages(fromAssistant: role == "model")
    }

    static func generation(_ config: JSONValue) -> [JSONValue.Member] {
        var out: [JSONValue.Member] = []
        let mapping: [(String, String, String)] = [
            ("temperature", "temperature", "temperature"), ("topP", "top_p", "top_p"),
            ("maxOutputTokens", "max_output_tokens", "max_tokens"), ("stopSequences", "stop_sequences", "stop"),
            ("candidateCount", "candidate_count", "n"), ("seed", "seed", "seed"),
        ]
        for (camel, snake, ir) in mapping {
            if let value = field(config, camel, snake) { out.append(.init(ir, value)) }
        }
        if field(config, "responseMimeType", "response_mime_type")?.stringValue == "application/json" {
            if let schema = field(config, "responseJsonSchema", "response_json_schema")
                ?? field(config, "responseSchema", "response_schema").map(jsonSchema) {
                out.append(.init("response_format", .object(["type": .string("json_schema"),
                                                             "json_schema": .object(["name": .string("response"), "schema": schema])])))
            } else {
                out.append(.init("response_format", .object(["type": .string("json_object")])))
            }
        }
        return out
    }

    static func tool(_ declaration: JSONValue) throws(GatewayError) -> JSONValue {
        guard let name = declaration["name"]?.stringValue else { throw .badRequest("every function declaration needs a name") }
        var function: [JSONValue.Member] = [.init("name", .string(name))]
        if let description = declaration["description"] { function.append(.init("description", description)) }
        let parameters = field(declaration, "parametersJsonSchema", "parameters_json_schema")
            ?? declaration["parameters"].map(jsonSchema)
        function.append(.init("parameters", parameters ?? .object(["type": .string("object")])))
        return .object(["type": .string("function"), "function": .object(function)])
    }

    /// Gemini's `parameters` and `responseSchema` are an OpenAPI subset whose types are upper
    /// case ("OBJECT", "STRING"); JSON Schema, which every other dialect uses, wants lower case.
    static func jsonSchema(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let members):
            return .object(members.map { member in
                if member.key == "type", let type = member.value.stringValue { return .init("type", .string(type.lowercased())) }
                return .init(member.key, jsonSchema(member.value))
            })
        case .array(let items):
            return .array(items.map(jsonSchema))
        default:
            return schema
        }
    }

    static func toolChoice(_ calling: JSONValue) -> [JSONValue.Member] {
        let allowed = field(calling, "allowedFunctionNames", "allowed_function_names")?.arrayValue ?? []
        switch calling["mode"]?.stringValue?.uppercased() {
        case "NONE"?: return [.init("tool_choice", .string("none"))]
        case "ANY"? where allowed.count == 1:
            return [.init("tool_choice", .object(["type": .string("function"), "function": .object(["name": allowed[0]])]))]
        case "ANY"?: return [.init("tool_choice", .string("required"))]
        case "AUTO"?: return [.init("tool_choice", .string("auto"))]
        default: return []
        }
    }
}
