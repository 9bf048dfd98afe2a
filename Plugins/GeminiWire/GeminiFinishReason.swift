/// Gemini `finishReason` -> OpenAI `finish_reason`.
public enum GeminiFinishReason {
    static let filtered: Set<String> = [
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
    ]

    /// `hasToolCalls`: the candidate asked for function calls, which OpenAI reports as
    /// `tool_calls` (Gemini says STOP).
    public static func openAI(_ reason: String, hasToolCalls: Bool) -> String {
        if reason == "MAX_TOKENS" { return "length" }
        if filtered.contains(reason) { return "content_filter" }
        return hasToolCalls ? "tool_calls" : "stop"
    }
}
