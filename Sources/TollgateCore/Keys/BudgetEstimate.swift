import NIOCore

/// The most a request may cost, for a budget's reservation: its prompt at 4 bytes a token (the
/// TPM limiter's rule) and, for a chat, the output it allows (`max_completion_tokens`,
/// `max_tokens`, Gemini's `generationConfig.maxOutputTokens`; else `defaultMaxTokens`).
/// Read only for keys with a budget.
enum BudgetEstimate {
    static let defaultMaxTokens: Int64 = 4096
    static let maxTokensCeiling: Int64 = 1_000_000
    private static let outputLimits = RequestScan.MemberNames("max_completion_tokens", "max_tokens", "generationConfig")

    static func usage(body: ByteBuffer, chat: Bool) -> TokenUsage {
        let prompt = Int64((body.readableBytes + UsageEstimate.bytesPerToken - 1) / UsageEstimate.bytesPerToken)
        guard chat else { return TokenUsage(prompt: prompt) }
        let found = body.withUnsafeReadableBytes { RequestScan.members(outputLimits, in: $0) }
        let asked = found[0]?.int64Value ?? found[1]?.int64Value ?? found[2]?["maxOutputTokens"]?.int64Value
        let completion = min(max(asked ?? defaultMaxTokens, 0), maxTokensCeiling)
        return TokenUsage(prompt: prompt, completion: completion)
    }
}
