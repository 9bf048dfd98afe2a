/// A template provider with its own embeddings format (Cohere's `/v2/embed`): edits to the OpenAI
/// embeddings request (whose `input` is always an array by then) and where its answer keeps the
/// vectors and the input token count.
public struct EmbeddingsMapping: Sendable, Equatable {
    public var request: [MappingOp]
    /// The array of vectors, in input order.
    public var vectors: JSONPath
    public var promptTokens: JSONPath?
    public var errorMessage: JSONPath?

    /// An OpenAI embeddings list for a successful answer, and its usage.
    func list(from answer: JSONValue, model: String) throws(JSONPathMiss) -> (body: JSONValue, usage: TokenUsage) {
        let found = try vectors.value(in: answer)
        guard case .array(let items) = found else {
            throw JSONPathMiss(path: vectors.text, place: vectors.text, reason: "is \(found.kindName), not an array of vectors")
        }
        let tokens = try promptTokens.map { path throws(JSONPathMiss) in try UsageMapping.count(path, answer) } ?? 0
        let data = items.enumerated().map { index, vector in
            JSONValue.object(["object": .string("embedding"), "index": .int(index), "embedding": vector])
        }
        let body = JSONValue.object(["object": .string("list"), "data": .array(data), "model": .string(model),
                                     "usage": TokenUsage.openAIEmbeddingsJSON(promptTokens: tokens)])
        return (body, TokenUsage(prompt: tokens, completion: 0))
    }
}
