import TollgatePluginKit

/// Gemini `usageMetadata` -> the gateway's usage convention and OpenAI's `usage` object.
///
/// Gemini's `promptTokenCount` already includes `cachedContentTokenCount`, so it is the prompt as
/// is; tokens its built-in tools read (`toolUsePromptTokenCount`) are input too and are added.
/// Output is `candidatesTokenCount` + `thoughtsTokenCount` (thinking is billed as output), with
/// the thoughts also reported as reasoning. Audio counts come from the per-modality details.
public enum GeminiUsage {
    /// The counts `metadata` reports; a count it lacks stays nil, so merging a later event never
    /// erases an earlier value.
    public static func read(_ metadata: JSONValue?) -> PluginUsage {
        var usage = PluginUsage()
        guard let metadata, case .object = metadata else { return usage }
        let prompt = metadata.gemini("promptTokenCount")?.int64Value
        let toolUse = metadata.gemini("toolUsePromptTokenCount")?.int64Value
        let candidates = metadata.gemini("candidatesTokenCount")?.int64Value
        let thoughts = metadata.gemini("thoughtsTokenCount")?.int64Value
        if prompt != nil || toolUse != nil { usage.prompt = (prompt ?? 0) + (toolUse ?? 0) }
        if candidates != nil || thoughts != nil { usage.completion = (candidates ?? 0) + (thoughts ?? 0) }
        usage.cacheRead = metadata.gemini("cachedContentTokenCount")?.int64Value
        usage.reasoning = thoughts
        usage.audioPrompt = audio(metadata.gemini("promptTokensDetails"))
        usage.audioCompletion = audio(metadata.gemini("candidatesTokensDetails"))
        return usage
    }

    private static func audio(_ details: JSONValue?) -> Int64? {
        for item in details?.arrayValue ?? [] where item["modality"]?.stringValue == "AUDIO" {
            return item.gemini("tokenCount")?.int64Value
        }
        return nil
    }

    /// An OpenAI `usage` object; counts never reported are written as 0.
    public static func openAI(_ usage: PluginUsage) -> JSONValue {
        let prompt = usage.prompt ?? 0, completion = usage.completion ?? 0
        var members: [JSONValue.Member] = [
            .init("prompt_tokens", .int(prompt)), .init("completion_tokens", .int(completion)),
            .init("total_tokens", .int(prompt + completion)),
        ]
        var promptDetails: [JSONValue.Member] = [.init("cached_tokens", .int(usage.cacheRead ?? 0))]
        if let audio = usage.audioPrompt { promptDetails.append(.init("audio_tokens", .int(audio))) }
        members.append(.init("prompt_tokens_details", .object(promptDetails)))
        var completionDetails: [JSONValue.Member] = [.init("reasoning_tokens", .int(usage.reasoning ?? 0))]
        if let audio = usage.audioCompletion { completionDetails.append(.init("audio_tokens", .int(audio))) }
        members.append(.init("completion_tokens_details", .object(completionDetails)))
        return .object(members)
    }
}
