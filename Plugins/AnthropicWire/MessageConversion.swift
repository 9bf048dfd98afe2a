import TollgatePluginKit

/// OpenAI chat `messages` → Anthropic's top-level `system` and alternating `messages`.
///
/// Anthropic has no system role (system and developer messages become `system`, wherever they
/// stand), no tool role (a result is a `tool_result` block in a user message) and wants user and
/// assistant turns to alternate, so consecutive messages of one role, several tool results of a
/// turn included, are merged into one message. In a merged user message the `tool_result` blocks
/// go first, as Anthropic requires them to lead.
struct MessageConversion {
    /// Text blocks of the system prompt, in order.
    private(set) var system: [JSONValue] = []
    private(set) var turns: [(role: String, blocks: [JSONValue])] = []

    mutating func add(_ messages: JSONValue) throws(PluginError) {
        guard let list = messages.arrayValue, !list.isEmpty else {
            throw PluginError(.invalidInput, "messages must be a non-empty array")
        }
        for (index, message) in list.enumerated() { try add(message, path: "messages[\(index)]") }
        guard !turns.isEmpty else { throw PluginError(.invalidInput, "messages hold no user or assistant content") }
    }

    /// Appends an instruction to the system prompt (JSON mode).
    mutating func appendSystem(_ text: String) { system.append(Self.text(text)) }

    /// `system` as Anthropic takes it: a string for one plain text, else an array of text blocks
    /// (several system messages, or one carrying `cache_control`); nil when there is none.
    var systemValue: JSONValue? {
        if system.isEmpty { return nil }
        if system.count == 1, let plain = Self.plainText(system[0]) { return .string(plain) }
        return .array(system)
    }

    /// The `messages` array: a message's content is a string when it is one plain text block.
    var messagesValue: JSONValue {
        .array(turns.map { turn in
            var blocks = turn.blocks
            // Tool results first (Anthropic's order); a turn without any is left as it is.
            if turn.role == "user", blocks.contains(where: Self.isToolResult) {
                blocks = blocks.filter(Self.isToolResult) + blocks.filter { !Self.isToolResult($0) }
            }
            let content: JSONValue = blocks.count == 1 ? Self.plainText(blocks[0]).map { .string($0) } ?? .array(blocks) : .array(blocks)
            return .object(["role": .string(turn.role), "content": content])
        })
    }

    private static func isToolResult(_ block: JSONValue) -> Bool { block["type"]?.stringValue == "tool_result" }

    /// True when the last assistant turn calls tools without the thinking blocks Anthropic needs
    /// replayed before them (extended thinking cannot be turned on then).
    var lastAssistantTurnLacksThinking: Bool {
        guard let last = turns.last(where: { $0.role == "assistant" }) else { return false }
        let callsTools = last.blocks.contains { $0["type"]?.stringValue == "tool_use" }
        let first = last.blocks.first?["type"]?.stringValue
        return callsTools && first != "thinking" && first != "redacted_thinking"
    }

    // MARK: - One message

    private mutating func add(_ message: JSONValue, path: @autoclosure () -> String) throws(PluginError) {
        guard case .object = message, let role = message["role"]?.stringValue else {
            throw PluginError(.invalidInput, "\(path()).role is required")
        }
        let content = message["content"]
        switch role {
        case "system", "developer":
            system += try ContentConversion.blocks(content, path: "\(path()).content", allowing: .textOnly)
        case "user":
            append("user", try ContentConversion.blocks(content, path: "\(path()).content", allowing: .user))
        case "assistant":
            var blocks: [JSONValue] = []
            // Signed thinking blocks a client kept from an earlier answer (`thinking_blocks`, as
            // this plugin returns them) go back first, as Anthropic requires.
            if let thinking = message["thinking_blocks"]?.arrayValue { blocks += thinking }
            blocks += try ContentConversion.blocks(content, path: "\(path()).content", allowing: .assistant)
            if let calls = message["tool_calls"], !calls.isNull {
                guard let list = calls.arrayValue else { throw PluginError(.invalidInput, "\(path()).tool_calls must be an array") }
                for (index, call) in list.enumerated() { blocks.append(try toolUse(call, path: "\(path()).tool_calls[\(index)]")) }
            }
            append("assistant", blocks)
        case "tool":
            guard let id = message["tool_call_id"]?.stringValue, !id.isEmpty else {
                throw PluginError(.invalidInput, "\(path()).tool_call_id is required")
            }
            var result: [JSONValue.Member] = [.init("type", .string("tool_result")), .init("tool_use_id", .string(id))]
            if let text = content?.stringValue {
                if !text.isEmpty { result.append(.init("content", .string(text))) }
            } else {
                let blocks = try ContentConversion.blocks(content, path: "\(path()).content", allowing: .toolResult)
                if !blocks.isEmpty { result.append(.init("content", .array(blocks))) }
            }
            append("user", [.object(result)])
        case "function":
            throw PluginError(.unsupported, "\(path()): the legacy 'function' role is not supported; use tools and 'tool' messages")
        default:
            throw PluginError(.invalidInput, "\(path()).role '\(role)' is not a chat role")
        }
    }

    /// An assistant `tool_calls` entry → a `tool_use` block; `arguments` must be a JSON object.
    private func toolUse(_ call: JSONValue, path: @autoclosure () -> String) throws(PluginError) -> JSONValue {
        guard let id = call["id"]?.stringValue, let function = call["function"], let name = function["name"]?.stringValue else {
            throw PluginError(.invalidInput, "\(path()) needs id, function.name and function.arguments")
        }
        let input: JSONValue
        switch function["arguments"] {
        case .string(let text)?:
            if text.allSatisfy({ $0.isWhitespace }) {
                input = .object([])
            } else {
                do { input = try JSONParser.parse(text) } catch {
                    throw PluginError(.invalidInput, "\(path()).function.arguments is not valid JSON: \(error)")
                }
            }
        case .object(let members)?: input = .object(members)
        case nil, .null?: input = .object([])
        default: throw PluginError(.invalidInput, "\(path()).function.arguments must be a JSON string")
        }
        guard case .object = input else {
            throw PluginError(.invalidInput, "\(path()).function.arguments must encode a JSON object")
        }
        return .object(["type": .string("tool_use"), "id": .string(id), "name": .string(name), "input": input])
    }

    /// Adds blocks to the last turn when it has the same role, else starts a turn. A message
    /// with nothing to say (an empty assistant text, say) adds nothing.
    private mutating func append(_ role: String, _ blocks: [JSONValue]) {
        guard !blocks.isEmpty else { return }
        if let last = turns.indices.last, turns[last].role == role {
            turns[last].blocks += blocks
        } else {
            turns.append((role, blocks))
        }
    }

    static func text(_ text: String) -> JSONValue { .object(["type": .string("text"), "text": .string(text)]) }

    /// The text of a block that is only `{"type":"text","text":...}` (nothing like cache_control).
    static func plainText(_ block: JSONValue) -> String? {
        guard let members = block.objectValue, members.count == 2, block["type"]?.stringValue == "text" else { return nil }
        return block["text"]?.stringValue
    }
}
