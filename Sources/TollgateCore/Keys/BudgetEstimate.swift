import NIOCore

/// The most a request may cost, for a budget's reservation: its prompt at 4 bytes a token (the
/// TPM limiter's rule) and, for a chat, the output it allows (`max_completion_tokens`,
/// `max_tokens`, Gemini's `generationConfig.maxOutputTokens`; else `defaultMaxTokens`).
/// Read only for keys with a budget.
enum BudgetEstimate {
    static let defaultMaxTokens: Int64 = 4096
    static let maxTokensCeiling: Int64 = 1_000_000

    static func usage(body: ByteBuffer, chat: Bool) -> TokenUsage {
        let prompt = Int64((body.readableBytes + UsageEstimate.bytesPerToken - 1) / UsageEstimate.bytesPerToken)
        guard chat else { return TokenUsage(prompt: prompt) }
        let found = body.withUnsafeReadableBytes {
            RequestScan.members(["max_completion_tokens", "max_tokens", "generationConfig"], in: $0)
        }
        let asked = found["max_completion_tokens"]?.int64Value ?? found["max_tokens"]?.int64Value
            ?? found["generationConfig"]?["maxOutputTokens"]?.int64Value
        let completion = min(max(asked ?? defaultMaxTokens, 0), maxTokensCeiling)
        return TokenUsage(prompt: prompt, completion: completion)
    }
}
