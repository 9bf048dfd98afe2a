import TollgatePluginKit

/// A complete Gemini `GenerateContentResponse` -> an OpenAI `chat.completion`.
public enum GeminiResponse {
    public struct Converted: Sendable {
        public var body: [UInt8]
        public var usage: PluginUsage
    }

    /// Converts a 2xx body. Throws `.upstream` when it is not a Gemini answer.
    public static func toOpenAI(_ body: [UInt8], model: String, created: Int64) throws(PluginError) -> Converted {
        guard let json = Wire.parse(body), case .object = json else {
            throw PluginError(.upstream, "Gemini answer is not a JSON object")
        }
        if let error = GeminiErrors.errorObject(json) { throw PluginError(.upstream, GeminiErrors.message(error)) }
        var usage = GeminiUsage.read(json.gemini("usageMetadata"))
        // A complete answer that omits the output count produced none (Gemini leaves zeros out).
        if usage.prompt != nil && usage.completion == nil { usage.completion = 0 }
        var choices: [JSONValue] = []
        let candidates = json.gemini("candidates")?.arrayValue ?? []
        for (position, raw) in candidates.enumerated() {
            guard case .object = raw else { throw PluginError(.upstream, "Gemini candidate \(position) is not an object") }
            let candidate = GeminiCandidate(raw, position: position)
            var message: [JSONValue.Member] = [.init("role", .string("assistant"))]
            let calls = candidate.openAIToolCalls(firstIndex: 0, withIndex: false)
            message.append(.init("content", candidate.hasText || calls.isEmpty ? .string(candidate.text) : .null))
            if !candidate.reasoning.isEmpty { message.append(.init("reasoning_content", .string(candidate.reasoning))) }
            if !calls.isEmpty { message.append(.init("tool_calls", .array(calls))) }
            let reason = GeminiFinishReason.openAI(candidate.finishReason ?? "STOP", hasToolCalls: !calls.isEmpty)
            choices.append(.object([
                "index": .int(candidate.index), "message": .object(message), "logprobs": .null, "finish_reason": .string(reason),
            ]))
        }
        if choices.isEmpty {
            // No candidate: the prompt itself was blocked (promptFeedback.blockReason), or nothing came.
            let blocked = json.gemini("promptFeedback")?.gemini("blockReason")?.stringValue != nil
            choices.append(.object([
                "index": .int(0), "message": .object(["role": .string("assistant"), "content": .string("")]),
                "logprobs": .null, "finish_reason": .string(blocked ? "content_filter" : "stop"),
            ]))
        }
        let id = json.gemini("responseId")?.stringValue.map { "chatcmpl-" + $0 } ?? Wire.randomID("chatcmpl-")
        let out = JSONValue.object([
            "id": .string(id), "object": .string("chat.completion"), "created": .int(created), "model": .string(model),
            "choices": .array(choices), "usage": GeminiUsage.openAI(usage),
        ])
        return Converted(body: out.serialized(), usage: usage)
    }

    /// The usage of a Gemini-dialect answer passed through as it is.
    public static func usage(ofGeminiBody body: [UInt8]) -> PluginUsage {
        GeminiUsage.read(Wire.parse(body)?.gemini("usageMetadata"))
    }
}
