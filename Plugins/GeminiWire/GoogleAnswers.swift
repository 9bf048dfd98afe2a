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
            // The structured status, and a message naming the channel's own model: a retirement.
            if RetirementText.names(answer.model, in: message) && RetirementText.announcesRetirement(message) {
                return ResponseClassification(.deprecated, limits: limits, message: message, code: status,
                                              successor: RetirementText.successorModel(in: message, retiring: answer.model))
            }
            return verdict(.modelNotFound)
        case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
            if message.contains("exceeds the maximum number of tokens") { return verdict(.contextWindow) }
            return verdict(.requestError)
        default:
            switch answer.status {
            case 429: return verdict(.rateLimited)
            case 401, 403: return verdict(.auth)
            case 404: return verdict(.modelNotFound)
            case 500...: return verdict(.serverError)
            default: return verdict(.requestError)
            }
        }
    }
}
