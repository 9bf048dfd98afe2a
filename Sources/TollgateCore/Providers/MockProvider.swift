/// The built-in `mock` provider: deterministic answers and usage so the gateway serves a first
/// request offline. The answer to a chat is "echo: " plus the last user message; every message
/// word counts as one prompt token and every answer word as one completion token.
public enum MockProvider {
    public static let created: Int64 = 1_700_000_000

    public struct Answer {
        public var status: Int
        public var body: [UInt8]
        public var usage: TokenUsage
    }

    /// A complete chat.completion (or an error when the request has no messages).
    public static func chat(request: JSONValue, model: String, requestID: String) -> Answer {
        guard let messages = request["messages"]?.arrayValue, !messages.isEmpty else {
            return Answer(status: 400, body: ErrorBody.openAI(message: "'messages' must be a non-empty array",
                                                              type: "invalid_request_error", code: "invalid_messages"),
                          usage: TokenUsage())
        }
        let (text, usage) = reply(to: messages)
        let body = JSONValue.object([
            "id": .string("chatcmpl-\(requestID)"), "object": .string("chat.completion"), "created": .int(created),
            "model": .string(model),
            "choices": .array([.object([
                "index": .int(0),
                "message": .object(["role": .string("assistant"), "content": .string(text)]),
                "finish_reason": .string("stop"),
            ])]),
            "usage": usage.openAIJSON(),
        ])
        return Answer(status: 200, body: body.serialized(), usage: usage)
    }

    /// The same answer as OpenAI SSE events, one word per chunk.
    public static func chatStream(request: JSONValue, model: String, requestID: String, includeUsage: Bool) -> (events: [[UInt8]], usage: TokenUsage)? {
        guard let messages = request["messages"]?.arrayValue, !messages.isEmpty else { return nil }
        let (text, usage) = reply(to: messages)
        let writer = OpenAIChunkWriter(id: "chatcmpl-\(requestID)", created: created, model: model, writesLogprobs: false)
        var events = [writer.chunk(delta: .object(["role": .string("assistant"), "content": .string("")]))]
        let words = text.split(separator: " ")
        for (i, word) in words.enumerated() {
            events.append(writer.chunk(delta: .object(["content": .string(i == 0 ? String(word) : " " + word)])))
        }
        events.append(writer.chunk(delta: .object([:]), finishReason: "stop"))
        if includeUsage { events.append(writer.usageChunk(usage.openAIJSON())) }
        events.append(OpenAIChunkWriter.done)
        return (events, usage)
    }

    /// Deterministic 8-dimensional embeddings, one per input string.
    public static func embeddings(request: JSONValue, model: String) -> Answer {
        let inputs: [String]
        switch request["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }):
            inputs = items.compactMap(\.stringValue)
        default:
            return Answer(status: 400, body: ErrorBody.openAI(message: "'input' must be a string or an array of strings",
                                                              type: "invalid_request_error", code: "invalid_input"),
                          usage: TokenUsage())
        }
        let tokens = Int64(inputs.reduce(0) { $0 + wordCount($1) })
        let data = inputs.enumerated().map { index, text in
            JSONValue.object(["object": .string("embedding"), "index": .int(index),
                              "embedding": .array(vector(for: text).map { .number(String($0)) })])
        }
        let usage = TokenUsage(prompt: tokens, completion: 0)
        let body = JSONValue.object(["object": .string("list"), "data": .array(data), "model": .string(model),
                                     "usage": TokenUsage.openAIEmbeddingsJSON(promptTokens: tokens)])
        return Answer(status: 200, body: body.serialized(), usage: usage)
    }

    static func reply(to messages: [JSONValue]) -> (String, TokenUsage) {
        let texts = messages.map { text(of: $0["content"]) }
        let lastUser = messages.lastIndex { $0["role"]?.stringValue == "user" }.map { texts[$0] } ?? ""
        let answer = "echo: " + (lastUser.isEmpty ? "(empty)" : lastUser)
        let prompt = Int64(texts.reduce(0) { $0 + wordCount($1) })
        return (answer, TokenUsage(prompt: prompt, completion: Int64(wordCount(answer))))
    }

    /// The text of a message's content: a string, or the text parts of an array.
    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let s)?: return s
        case .array(let parts)?: return parts.compactMap { $0["text"]?.stringValue }.joined(separator: " ")
        default: return ""
        }
    }

    static func wordCount(_ text: String) -> Int { text.split(whereSeparator: { $0 == " " || $0 == "\n" }).count }

    /// FNV-1a of the text, spread over 8 values in [-1, 1] with 4 decimals.
    static func vector(for text: String) -> [Double] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        return (0..<8).map { i in
            for byte in text.utf8 { hash = (hash ^ UInt64(byte) ^ UInt64(i)) &* 0x100_0000_01b3 }
            return Double(Int64(hash % 20001) - 10000) / 10000
        }
    }
}
