import TollgatePluginKit

/// OpenAI `messages` -> Gemini `contents` and `systemInstruction`.
///
/// Gemini has two roles, `user` and `model`, wants them to alternate, and takes one system
/// instruction. So: system and developer messages (wherever they stand) become the parts of
/// `systemInstruction`; assistant messages become `model` turns; tool results become
/// `functionResponse` parts of a `user` turn; and consecutive turns of one role are merged, which
/// puts all the tool results of one assistant turn into one `user` turn (Gemini refuses them
/// spread over several).
enum GeminiContents {
    struct Converted {
        var contents: [JSONValue]
        var systemParts: [JSONValue]
    }

    static func convert(_ messages: [JSONValue]) throws(PluginError) -> Converted {
        var turns: [(role: String, parts: [JSONValue])] = []
        var system: [JSONValue] = []
        /// Tool call id -> function name, from the assistant turns seen so far.
        var callNames: [String: String] = [:]

        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue else {
                throw PluginError(.invalidInput, "messages[\(index)] has no \"role\"")
            }
            switch role {
            case "system", "developer":
                guard let text = Wire.text(of: message["content"]) else {
                    throw PluginError(.invalidInput, "messages[\(index)] (\(role)) content must be text")
                }
                if !text.isEmpty { system.append(GeminiParts.textPart(text)) }
            case "user":
                turns.append(("user", try GeminiParts.parts(of: message["content"], role: role)))
            case "assistant":
                var parts = try GeminiParts.parts(of: message["content"], role: role)
                for (k, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
                    parts.append(try functionCall(call, at: "messages[\(index)].tool_calls[\(k)]", names: &callNames))
                }
                turns.append(("model", parts))
            case "tool", "function":
                turns.append(("user", [try functionResponse(message, at: "messages[\(index)]", names: callNames)]))
            default:
                throw PluginError(.invalidInput, "messages[\(index)] has an unknown role \"\(role)\"")
            }
        }

        var contents: [JSONValue] = []
        var last: (role: String, parts: [JSONValue])?
        for turn in turns where !turn.parts.isEmpty {
            if last?.role == turn.role { last!.parts += turn.parts; continue }
            if let done = last { contents.append(content(done)) }
            last = turn
        }
        if let done = last { contents.append(content(done)) }
        return Converted(contents: contents, systemParts: system)
    }

    private static func content(_ turn: (role: String, parts: [JSONValue])) -> JSONValue {
        .object(["role": .string(turn.role), "parts": .array(turn.parts)])
    }

    /// An assistant `tool_calls` entry -> a `functionCall` part. A `thought_signature` the gateway
    /// handed out with the call (Gemini needs it back to continue a thinking model's turn) is
    /// returned beside it.
    private static func functionCall(_ call: JSONValue, at path: String, names: inout [String: String]) throws(PluginError) -> JSONValue {
        guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
            throw PluginError(.invalidInput, "\(path) has no function name")
        }
        let args: JSONValue
        switch call["function"]?["arguments"] {
        case nil, .null?: args = .object([])
        case .string(let text)?:
            if text.isEmpty { args = .object([]) } else {
                guard let parsed = try? JSONParser.parse(text), case .object = parsed else {
                    throw PluginError(.invalidInput, "\(path).function.arguments is not a JSON object")
                }
                args = parsed
            }
        case .object(let members)?: args = .object(members)
        default: throw PluginError(.invalidInput, "\(path).function.arguments must be a JSON string")
        }
        if let id = call["id"]?.stringValue { names[id] = name }
        var part: [JSONValue.Member] = [.init("functionCall", .object(["name": .string(name), "args": args]))]
        if let signature = call["extra_content"]?["google"]?["thought_signature"]?.stringValue {
            part.append(.init("thoughtSignature", .string(signature)))
        }
        return .object(part)
    }

    /// A tool result -> a `functionResponse` part. Gemini names the function, not the call, so
    /// the name comes from the assistant call with the same id. The result goes in
    /// `response.content`: parsed when it is a JSON object, as text otherwise.
    private static func functionResponse(_ message: JSONValue, at path: String, names: [String: String]) throws(PluginError) -> JSONValue {
        let id = message["tool_call_id"]?.stringValue
        guard let name = id.flatMap({ names[$0] }) ?? message["name"]?.stringValue else {
            throw PluginError(.invalidInput, "\(path) answers tool call \"\(id ?? "")\", which no earlier assistant message made")
        }
        let text = Wire.text(of: message["content"]) ?? ""
        var result = JSONValue.string(text)
        if let parsed = try? JSONParser.parse(text), case .object = parsed { result = parsed }
        return .object(["functionResponse": .object(["name": .string(name), "response": .object(["content": result])])])
    }
}
