/// Where a provider's complete answer keeps what an OpenAI chat completion needs. The answer is
/// rebuilt as `chat.completion` with one choice; every mapped path must exist in a successful
/// answer, else the client gets a 502 naming the path.
public struct ResponseMapping: Sendable, Equatable {
    public var id: JSONPath?
    public var content: JSONPath
    public var finishReason: JSONPath?
    /// Provider finish reasons -> OpenAI's (`COMPLETE` -> `stop`); unmapped values pass as they are.
    public var finishReasons: [String: String]
    public var usage: UsageMapping?
    /// Where an error answer (non-2xx) keeps its message.
    public var errorMessage: JSONPath?

    func finish(_ raw: String) -> String { finishReasons[raw] ?? raw }

    /// An OpenAI `chat.completion` for a successful answer, and its usage.
    func completion(from answer: JSONValue, model: String, created: Int64) throws(JSONPathMiss) -> (body: JSONValue, usage: TokenUsage) {
        let text = try Self.text(content, in: answer)
        var finish = JSONValue.null
        if let finishReason {
            let raw = try finishReason.value(in: answer)
            if case .string(let reason) = raw { finish = .string(self.finish(reason)) }
        }
        let usage = try usage?.read(answer) ?? TokenUsage()
        var id = "chatcmpl-tollgate"
        if let path = self.id, case .string(let found) = try path.value(in: answer) { id = found }
        var members: [JSONValue.Member] = [
            .init("id", .string(id)), .init("object", .string("chat.completion")), .init("created", .int(created)),
            .init("model", .string(model)),
            .init("choices", .array([.object([
                "index": .int(0), "message": .object(["role": .string("assistant"), "content": text]),
                "logprobs": .null, "finish_reason": finish,
            ])])),
        ]
        if self.usage != nil { members.append(.init("usage", usage.openAIJSON())) }
        return (.object(members), usage)
    }

    /// The message of an error answer, when the path finds text in it.
    func errorMessage(in answer: JSONValue) -> String? {
        guard let errorMessage, case .string(let message)? = try? errorMessage.value(in: answer) else { return nil }
        return message
    }

    /// Text content: a string, or null (an answer with no text); anything else is a mapping error.
    static func text(_ path: JSONPath, in document: JSONValue) throws(JSONPathMiss) -> JSONValue {
        let value = try path.value(in: document)
        switch value {
        case .string, .null: return value
        default: throw JSONPathMiss(path: path.text, place: path.text, reason: "is \(value.kindName), not text")
        }
    }
}
