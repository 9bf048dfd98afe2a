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
        if prompt != nil || toolUse != nil { usage.prompt = (prompt ?? 0).addingSaturated(toolUse ?? 0) }
        if candidates != nil || thoughts != nil { usage.completion = (candidates ?? 0).addingSaturated(thoughts ?? 0) }
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

    /// An OpenAI `usage` object; counts never reported are written as 0, audio counts when reported.
    public static func openAI(_ usage: PluginUsage) -> JSONValue {
        usage.openAIJSON(OpenAIUsageStyle(promptDetails: .always, completionDetails: .always, cacheWrites: .omitted))
    }
}
