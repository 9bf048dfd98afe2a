import TollgatePluginKit

/// What one Gemini candidate (or one streamed piece of it) says, in OpenAI terms.
struct GeminiCandidate {
    var index: Int
    var text = ""
    var hasText = false
    var reasoning = ""
    /// OpenAI `tool_calls` entries without their `index` (the caller numbers them).
    var toolCalls: [(id: String?, name: String, arguments: String, signature: String?)] = []
    var finishReason: String?

    /// Reads a candidate's parts: text is joined, `thought: true` parts are reasoning, function
    /// calls keep their order. Other parts (code execution, inline data) have no OpenAI form and
    /// are left out.
    init(_ candidate: JSONValue, position: Int) {
        index = candidate.gemini("index")?.int64Value.map { Int($0) } ?? position
        finishReason = candidate.gemini("finishReason")?.stringValue
        for part in candidate.gemini("content")?.gemini("parts")?.arrayValue ?? [] {
            if let call = part.gemini("functionCall"), case .object = call {
                let args = call["args"] ?? .object([])
                toolCalls.append((call["id"]?.stringValue, call["name"]?.stringValue ?? "",
                                  args.isNull ? "{}" : args.jsonString, part.gemini("thoughtSignature")?.stringValue))
            } else if let text = part["text"]?.stringValue {
                if part["thought"]?.boolValue == true { reasoning += text } else { self.text += text; hasText = true }
            }
        }
    }

    /// OpenAI `tool_calls` array entries; calls without a Gemini id get `call_<n>`, `n` counting
    /// from `firstIndex` over the whole answer.
    func openAIToolCalls(firstIndex: Int, withIndex: Bool) -> [JSONValue] {
        toolCalls.enumerated().map { offset, call in
            var members: [JSONValue.Member] = []
            if withIndex { members.append(.init("index", .int(firstIndex + offset))) }
            members += [
                .init("id", .string(call.id ?? "call_\(firstIndex + offset)")),
                .init("type", .string("function")),
                .init("function", .object(["name": .string(call.name), "arguments": .string(call.arguments)])),
            ]
            // Thinking models need the signature back with the call; OpenAI SDKs keep unknown
            // fields of a message, and Google's own OpenAI endpoint uses this same place.
            if let signature = call.signature {
                members.append(.init("extra_content", .object(["google": .object(["thought_signature": .string(signature)])])))
            }
            return .object(members)
        }
    }
}
