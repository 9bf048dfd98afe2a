/// The OpenAI `chat.completion.chunk` SSE events of one streamed answer, written the same way by
/// every conversion (templates, the mock, Gemini, Anthropic, Bedrock): `id`, `object`, `created`,
/// `model`, `choices`, then `usage` when given, each event `data: {...}\n\n`.
public struct OpenAIChunkWriter: Sendable {
    public var id: String
    public var created: Int64
    public var model: String
    /// Each choice carries `"logprobs": null`, as OpenAI writes it (some conversions leave it out,
    /// and their pinned output keeps it that way).
    public var writesLogprobs: Bool

    public static let done = Array("data: [DONE]\n\n".utf8)

    public init(id: String, created: Int64, model: String, writesLogprobs: Bool) {
        self.id = id
        self.created = created
        self.model = model
        self.writesLogprobs = writesLogprobs
    }

    /// One choice of a chunk: `index`, `delta`, `logprobs` (when written), `finish_reason`.
    public func choice(_ index: Int = 0, delta: JSONValue, finishReason: String? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [.init("index", .int(index)), .init("delta", delta)]
        if writesLogprobs { members.append(.init("logprobs", .null)) }
        members.append(.init("finish_reason", finishReason.map(JSONValue.string) ?? .null))
        return .object(members)
    }

    /// A chunk with one choice (index 0).
    public func chunk(delta: JSONValue, finishReason: String? = nil, into out: inout [UInt8]) {
        chunk(choices: [choice(delta: delta, finishReason: finishReason)], into: &out)
    }

    /// A chunk with these choices and, when given, a `usage` object.
    public func chunk(choices: [JSONValue], usage: JSONValue? = nil, into out: inout [UInt8]) {
        var members: [JSONValue.Member] = [
            .init("id", .string(id)), .init("object", .string("chat.completion.chunk")), .init("created", .int(created)),
            .init("model", .string(model)), .init("choices", .array(choices)),
        ]
        if let usage { members.append(.init("usage", usage)) }
        out.append(contentsOf: "data: ".utf8)
        JSONValue.object(members).write(to: &out)
        out.append(contentsOf: "\n\n".utf8)
    }

    /// The last `{"choices":[],"usage":{...}}` chunk of `stream_options.include_usage`.
    public func usageChunk(_ usage: JSONValue, into out: inout [UInt8]) {
        chunk(choices: [], usage: usage, into: &out)
    }
}

extension OpenAIChunkWriter {
    /// `chunk` returning the event's bytes.
    public func chunk(delta: JSONValue, finishReason: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        chunk(delta: delta, finishReason: finishReason, into: &out)
        return out
    }

    public func usageChunk(_ usage: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        usageChunk(usage, into: &out)
        return out
    }
}
