/// Where a provider's answer keeps its token counts. Prompt and completion are required; the
/// others are read when present.
public struct UsageMapping: Sendable, Equatable {
    public var prompt: JSONPath
    public var completion: JSONPath
    public var cached: JSONPath?
    public var reasoning: JSONPath?

    /// Reads the counts; a count that is missing or not an integer throws, naming its path.
    func read(_ document: JSONValue) throws(JSONPathMiss) -> TokenUsage {
        var usage = TokenUsage(prompt: try Self.count(prompt, document), completion: try Self.count(completion, document))
        if let cached, let value = try? cached.value(in: document) { usage.cacheRead = value.int64Value }
        if let reasoning, let value = try? reasoning.value(in: document) { usage.reasoning = value.int64Value }
        return usage
    }

    static func count(_ path: JSONPath, _ document: JSONValue) throws(JSONPathMiss) -> Int64 {
        let value = try path.value(in: document)
        guard let count = value.int64Value else {
            throw JSONPathMiss(path: path.text, place: path.text, reason: "is \(value.kindName), not a token count")
        }
        return count
    }
}
