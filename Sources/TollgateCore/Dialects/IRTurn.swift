/// What one turn of another dialect holds, gathered before it becomes internal messages.
struct IRTurn {
    var parts: [JSONValue] = []
    var toolCalls: [JSONValue] = []
    /// Tool results: each its own `tool` message in the internal dialect.
    var results: [JSONValue] = []

    /// The internal messages: tool results first, then the assistant's text and calls (content
    /// null when it only calls tools) or the user's parts.
    func messages(fromAssistant: Bool) -> [JSONValue] {
        var converted = results
        if fromAssistant {
            var members: [JSONValue.Member] = [.init("role", .string("assistant"))]
            let text = parts.compactMap { $0["text"]?.stringValue }.joined()
            members.append(.init("content", text.isEmpty && !toolCalls.isEmpty ? .null : .string(text)))
            if !toolCalls.isEmpty { members.append(.init("tool_calls", .array(toolCalls))) }
            converted.append(.object(members))
        } else if !parts.isEmpty {
            converted.append(.object(["role": .string("user"), "content": .array(parts)]))
        }
        return converted
    }
}
