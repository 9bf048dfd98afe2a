import TollgatePluginKit

/// OpenAI Chat Completions request -> Bedrock Converse request body.
///
/// - `system`/`developer` messages -> `system: [{text}]` (wherever they sit in the conversation);
/// - `user` content (a string or text/image_url parts) -> `text` and `image` blocks; images must be
///   `data:` URLs (Converse takes bytes, not URLs) of png, jpeg, gif or webp;
/// - `assistant` content -> `text` blocks, `tool_calls` -> `toolUse {toolUseId, name, input}`;
/// - `tool` messages -> `toolResult {toolUseId, content: [{text}]}` blocks in a user message;
/// - consecutive messages of one role (e.g. the results of one turn, or results followed by the
///   user's next words) merge into one message, as Converse requires alternating roles;
/// - empty text is dropped (Converse refuses blank text blocks), and a message left empty with it;
/// - `max_tokens`/`max_completion_tokens`, `temperature`, `top_p`, `stop` -> `inferenceConfig`;
/// - `tools` -> `toolConfig.tools[].toolSpec {name, description, inputSchema: {json}}`;
///   `tool_choice` auto -> `{auto:{}}`, required -> `{any:{}}`, a named function ->
///   `{tool:{name}}`, none -> no `toolConfig` at all, unless the conversation already holds tool
///   calls or results: Converse then requires the tool list, so it is sent without a choice.
/// - `n` above 1 is refused; `response_format`, `stream_options`, `seed`, `user`, penalties and
///   the like have no Converse counterpart and are ignored.
enum ConverseRequest {
    static func convert(_ body: [UInt8]) throws(PluginError) -> JSONValue {
        let request: JSONValue
        do { request = try JSONParser.parse(body) } catch { throw PluginError(.invalidInput, "the request body is not JSON: \(error)") }
        return try convert(request)
    }

    static func convert(_ request: JSONValue) throws(PluginError) -> JSONValue {
        guard case .object = request else { throw invalid("the request body must be a JSON object") }
        guard let messages = request["messages"]?.arrayValue else { throw invalid("messages must be an array") }
        if let n = request["n"], !n.isNull {
            guard let count = n.int64Value, count >= 1 else { throw invalid("n must be a positive integer") }
            if count > 1 { throw PluginError(.unsupported, "n > 1 (several choices) is not supported by Bedrock Converse") }
        }

        var system: [JSONValue] = []
        var turns: [(role: String, blocks: [JSONValue])] = []
        var holdsToolBlocks = false
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if turns.last?.role == role {
                turns[turns.count - 1].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }

        for (i, message) in messages.enumerated() {
            let field = "messages[\(i)]"
            guard case .object = message else { throw invalid("\(field) must be an object") }
            guard let role = message["role"]?.stringValue else { throw invalid("\(field).role must be a string") }
            switch role {
            case "system", "developer":
                system += try textBlocks(message["content"], field: "\(field).content")
            case "user":
                append("user", try contentBlocks(message["content"], field: "\(field).content"))
            case "assistant":
                var blocks = try textBlocks(message["content"], field: "\(field).content", allowRefusal: true)
                let calls = try toolUseBlocks(message["tool_calls"], field: "\(field).tool_calls")
                holdsToolBlocks = holdsToolBlocks || !calls.isEmpty
                blocks += calls
                append("assistant", blocks)
            case "tool":
                guard let id = message["tool_call_id"]?.stringValue, !id.isEmpty else {
                    throw invalid("\(field).tool_call_id must be a non-empty string")
                }
                let text = try toolResultText(message["content"], field: "\(field).content")
                holdsToolBlocks = true
                append("user", [.object(["toolResult": .object([
                    "toolUseId": .string(id), "content": .array([.object(["text": .string(text)])]),
                ])])])
            default:
                throw invalid("\(field).role \"\(role)\" is not supported (system, developer, user, assistant, tool)")
            }
        }

        var out: [JSONValue.Member] = [
            .init("messages", .array(turns.map { .object(["role": .string($0.role), "content": .array($0.blocks)]) })),
        ]
        if !system.isEmpty { out.append(.init("system", .array(system))) }
        let inference = try inferenceConfig(request)
        if !inference.isEmpty { out.append(.init("inferenceConfig", .object(inference))) }
        if let tools = try toolConfig(request, holdsToolBlocks: holdsToolBlocks) { out.append(.init("toolConfig", tools)) }
        return .object(out)
    }

    // MARK: Content

    /// Text-only content (system and assistant messages): a string or text parts.
    static func textBlocks(_ content: JSONValue?, field: String, allowRefusal: Bool = false) throws(PluginError) -> [JSONValue] {
        switch content {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [.object(["text": .string(text)])]
        case .array(let parts)?:
            var blocks: [JSONValue] = []
            for (j, part) in parts.enumerated() {
                let type = part["type"]?.stringValue
                let text: String?
                switch type {
                case "text"?: text = part["text"]?.stringValue
                case "refusal"? where allowRefusal: text = part["refusal"]?.stringValue
                default: throw invalid("\(field)[\(j)] must be a text part here (type \"\(type ?? "?")\")")
                }
                guard let text else { throw invalid("\(field)[\(j)].\(type ?? "text") must be a string") }
                if !text.isEmpty { blocks.append(.object(["text": .string(text)])) }
            }
            return blocks
        default:
            throw invalid("\(field) must be a string or an array of parts")
        }
    }

    /// User content: text and images.
    static func contentBlocks(_ content: JSONValue?, field: String) throws(PluginError) -> [JSONValue] {
        guard case .array(let parts)? = content else { return try textBlocks(content, field: field) }
        var blocks: [JSONValue] = []
        for (j, part) in parts.enumerated() {
            let partField = "\(field)[\(j)]"
            switch part["type"]?.stringValue {
            case "text"?:
                guard let text = part["text"]?.stringValue else { throw invalid("\(partField).text must be a string") }
                if !text.isEmpty { blocks.append(.object(["text": .string(text)])) }
            case "image_url"?:
                let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue
                guard let url else { throw invalid("\(partField).image_url.url must be a string") }
                blocks.append(try imageBlock(url, field: "\(partField).image_url.url"))
            case let type:
                throw PluginError(.unsupported, "\(partField): content parts of type \"\(type ?? "?")\" are not supported by Bedrock Converse (text, image_url)")
            }
        }
        return blocks
    }

    static let imageFormats: [String: String] = [
        "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
    ]

    /// `data:image/png;base64,....` -> `{"image":{"format":"png","source":{"bytes":"...."}}}`;
    /// the base64 text is checked and passed on as it is (Converse's JSON carries bytes as base64).
    static func imageBlock(_ url: String, field: String) throws(PluginError) -> JSONValue {
        guard url.hasPrefix("data:") else {
            throw PluginError(.unsupported, "\(field): Bedrock Converse takes images as bytes, not URLs: send a data: URL (base64)")
        }
        let rest = url.dropFirst(5)
        guard let comma = rest.firstIndex(of: ",") else { throw invalid("\(field) is not a valid data: URL (no comma)") }
        let parameters = rest[..<comma].split(separator: ";").map { $0.lowercased() }
        guard parameters.last == "base64" else { throw invalid("\(field) must be a base64 data: URL") }
        let mediaType = parameters.first ?? ""
        guard let format = imageFormats[mediaType] else {
            throw PluginError(.unsupported, "\(field): image type \"\(mediaType)\" is not supported by Bedrock (png, jpeg, gif, webp)")
        }
        let data = String(rest[rest.index(after: comma)...])
        guard !data.isEmpty, Base64.decode(data.utf8) != nil else { throw invalid("\(field) holds invalid base64 data") }
        return .object(["image": .object(["format": .string(format), "source": .object(["bytes": .string(data)])])])
    }

    /// An assistant's `tool_calls` -> `toolUse` blocks; `arguments` (a JSON text) becomes `input`.
    static func toolUseBlocks(_ calls: JSONValue?, field: String) throws(PluginError) -> [JSONValue] {
        switch calls {
        case nil, .null?: return []
        case .array(let items)?:
            var blocks: [JSONValue] = []
            for (k, call) in items.enumerated() {
                let callField = "\(field)[\(k)]"
                if let type = call["type"]?.stringValue, type != "function" {
                    throw PluginError(.unsupported, "\(callField).type \"\(type)\" is not supported (function)")
                }
                guard let id = call["id"]?.stringValue, !id.isEmpty else { throw invalid("\(callField).id must be a non-empty string") }
                guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
                    throw invalid("\(callField).function.name must be a non-empty string")
                }
                let input: JSONValue
                switch call["function"]?["arguments"] {
                case nil, .null?: input = .object([])
                case .string(let text)?:
                    if text.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
                        input = .object([])
                    } else {
                        do { input = try JSONParser.parse(text) } catch {
                            throw invalid("\(callField).function.arguments is not valid JSON: \(error)")
                        }
                    }
                case .object(let members)?: input = .object(members)  // some clients send the object itself
                default: throw invalid("\(callField).function.arguments must be a JSON text")
                }
                blocks.append(.object(["toolUse": .object(["toolUseId": .string(id), "name": .string(name), "input": input])]))
            }
            return blocks
        default:
            throw invalid("\(field) must be an array")
        }
    }

    /// A tool message's content as one text: a string, or its text parts joined.
    static func toolResultText(_ content: JSONValue?, field: String) throws(PluginError) -> String {
        switch content {
        case nil, .null?: return ""
        case .string(let text)?: return text
        case .array(let parts)?:
            var text = ""
            for (j, part) in parts.enumerated() {
                guard part["type"]?.stringValue == "text", let piece = part["text"]?.stringValue else {
                    throw invalid("\(field)[\(j)] must be a text part")
                }
                text += piece
            }
            return text
        default:
            throw invalid("\(field) must be a string or an array of text parts")
        }
    }

    // MARK: Parameters

    static func inferenceConfig(_ request: JSONValue) throws(PluginError) -> [JSONValue.Member] {
        var out: [JSONValue.Member] = []
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let value = request[key], !value.isNull else { continue }
            guard let count = value.int64Value, count >= 1 else { throw invalid("\(key) must be a positive integer") }
            out.append(.init("maxTokens", .int(count)))
            break
        }
        for (key, name) in [("temperature", "temperature"), ("top_p", "topP")] {
            guard let value = request[key], !value.isNull else { continue }
            guard value.doubleValue != nil else { throw invalid("\(key) must be a number") }
            out.append(.init(name, value))
        }
        switch request["stop"] {
        case nil, .null?: break
        case .string(let stop)?: out.append(.init("stopSequences", .array([.string(stop)])))
        case .array(let items)?:
            guard items.allSatisfy({ $0.stringValue != nil }) else { throw invalid("stop must be a string or an array of strings") }
            if !items.isEmpty { out.append(.init("stopSequences", .array(items))) }
        default: throw invalid("stop must be a string or an array of strings")
        }
        return out
    }

    static func toolConfig(_ request: JSONValue, holdsToolBlocks: Bool) throws(PluginError) -> JSONValue? {
        var specs: [JSONValue] = []
        switch request["tools"] {
        case nil, .null?: break
        case .array(let tools)?:
            for (i, tool) in tools.enumerated() {
                if let type = tool["type"]?.stringValue, type != "function" {
                    throw PluginError(.unsupported, "tools[\(i)].type \"\(type)\" is not supported by Bedrock Converse (function)")
                }
                guard let function = tool["function"], case .object = function else { throw invalid("tools[\(i)].function must be an object") }
                guard let name = function["name"]?.stringValue, !name.isEmpty else {
                    throw invalid("tools[\(i)].function.name must be a non-empty string")
                }
                var spec: [JSONValue.Member] = [.init("name", .string(name))]
                if let description = function["description"]?.stringValue, !description.isEmpty {
                    spec.append(.init("description", .string(description)))
                }
                let schema: JSONValue
                switch function["parameters"] {
                case nil, .null?: schema = .object(["type": .string("object"), "properties": .object([])])
                case .object(let members)?: schema = .object(members)
                default: throw invalid("tools[\(i)].function.parameters must be a JSON Schema object")
                }
                spec.append(.init("inputSchema", .object(["json": schema])))
                specs.append(.object(["toolSpec": .object(spec)]))
            }
        default:
            throw invalid("tools must be an array")
        }

        var choice: JSONValue?
        var none = false
        switch request["tool_choice"] {
        case nil, .null?: break
        case .string("auto")?: choice = .object(["auto": .object([])])
        case .string("required")?: choice = .object(["any": .object([])])
        case .string("none")?: none = true
        case .object?:
            guard let name = request["tool_choice"]?["function"]?["name"]?.stringValue, !name.isEmpty else {
                throw invalid("tool_choice.function.name must be a non-empty string")
            }
            choice = .object(["tool": .object(["name": .string(name)])])
        default:
            throw invalid("tool_choice must be \"auto\", \"required\", \"none\" or {\"type\":\"function\",\"function\":{\"name\":...}}")
        }

        guard !specs.isEmpty else {
            if choice != nil { throw invalid("tool_choice needs tools") }
            return nil
        }
        if none {
            return holdsToolBlocks ? .object(["tools": .array(specs)]) : nil
        }
        var config: [JSONValue.Member] = [.init("tools", .array(specs))]
        if let choice { config.append(.init("toolChoice", choice)) }
        return .object(config)
    }

    static func invalid(_ message: String) -> PluginError { PluginError(.invalidInput, message) }
}
