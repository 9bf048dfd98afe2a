import TollgatePluginKit

/// Reads Google's API errors for the gateway's health (`on_classify_response`):
/// `{"error":{"code","message","status","details":[{"@type":"...RetryInfo","retryDelay":"30s"}]}}`
/// (sometimes in a one-element array).
public enum GoogleAnswers {
    public static func classify(_ answer: PluginAnswer) -> ResponseClassification {
        if (200..<300).contains(answer.status) { return ResponseClassification(.ok) }
        let error = GeminiErrors.errorObject(Wire.parse(answer.body))
        let status = error?["status"]?.stringValue
        let message = error?["message"]?.stringValue ?? String(decoding: answer.body.prefix(300), as: UTF8.self)
        var limits = UpstreamLimits()
        for detail in error?["details"]?.arrayValue ?? [] where detail["@type"]?.stringValue?.hasSuffix("RetryInfo") == true {
            limits.retryAfterMilliseconds = detail["retryDelay"]?.stringValue.flatMap(ProviderTime.milliseconds)
        }
        func verdict(_ v: ResponseClassification.Verdict) -> ResponseClassification {
            ResponseClassification(v, limits: limits, message: message, code: status)
        }
        switch status {
        case "RESOURCE_EXHAUSTED": return verdict(.rateLimited)
        case "UNAUTHENTICATED", "PERMISSION_DENIED": return verdict(.auth)
        case "UNAVAILABLE": return verdict(.overloaded)
        case "NOT_FOUND":
            // The structured status: a retirement when the message names the channel's own model.
            return ResponseClassification.retirement(of: answer.model, message: message, code: status, limits: limits)
                ?? verdict(.modelNotFound)
        case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
            if message.contains("exceeds the maximum number of tokens") { return verdict(.contextWindow) }
            return verdict(.requestError)
        default: return verdict(ResponseClassification.Verdict(status: answer.status))
        }
    }
}
