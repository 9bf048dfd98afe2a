import TollgatePluginKit

/// Reads Anthropic's answers for the gateway's health (`on_classify_response`): the
/// `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
/// headers (resets RFC 3339) and `{"type":"error","error":{"type","message"}}` bodies.
public enum AnthropicAnswers {
    /// True when `body` is an Anthropic error body.
    public static func isAnthropicError(_ body: [UInt8]) -> Bool {
        (try? JSONParser.parse(body))?["type"]?.stringValue == "error"
    }

    /// `nowMillis`: the wall clock (Unix milliseconds), for reset instants.
    public static func classify(_ answer: PluginAnswer, nowMillis: Int64) -> ResponseClassification {
        let limits = self.limits(answer.headers, nowMillis: nowMillis)
        if (200..<300).contains(answer.status) { return ResponseClassification(.ok, limits: limits) }
        let error = (try? JSONParser.parse(answer.body))?["error"]
        let type = error?["type"]?.stringValue
        let message = error?["message"]?.stringValue ?? String(decoding: answer.body.prefix(300), as: UTF8.self)
        func verdict(_ v: ResponseClassification.Verdict) -> ResponseClassification {
            ResponseClassification(v, limits: limits, message: message, code: type)
        }
        switch type {
        case "rate_limit_error": return verdict(.rateLimited)
        case "overloaded_error": return verdict(.overloaded)
        case "authentication_error", "permission_error": return verdict(.auth)
        case "billing_error": return verdict(.quota)
        case "not_found_error":
            // The structured type: a retirement when the message names the channel's own model.
            return ResponseClassification.retirement(of: answer.model, message: message, code: type, limits: limits)
                ?? verdict(.modelNotFound)
        case "invalid_request_error":
            if message.lowercased().contains("credit balance is too low") { return verdict(.quota) }
            if message.hasPrefix("prompt is too long") { return verdict(.contextWindow) }
            return verdict(.requestError)
        case "request_too_large": return verdict(.requestError)
        default: return verdict(ResponseClassification.Verdict(status: answer.status))
        }
    }

    /// The `anthropic-ratelimit-*` headers; either token budget running out limits the model,
    /// so the tighter of input and output counts.
    static func limits(_ headers: [(String, String)], nowMillis: Int64) -> UpstreamLimits {
        var limits = UpstreamLimits()
        func reset(_ text: String) -> Int64? { ProviderTime.unixMillis(rfc3339: text).map { max(0, $0 - nowMillis) } }
        for (rawName, rawValue) in headers {
            let name = rawName.lowercased()
            guard name.hasPrefix("anthropic-ratelimit-") else { continue }
            let value = String(rawValue.drop { $0 == " " })
            switch name.dropFirst("anthropic-ratelimit-".count) {
            case "requests-limit": limits.requestLimit = Int64(value)
            case "requests-remaining": limits.requestsRemaining = Int64(value)
            case "requests-reset": limits.requestsResetMilliseconds = reset(value)
            case "tokens-limit": limits.tokenLimit = Int64(value)
            case "tokens-remaining": limits.tokensRemaining = Int64(value)
            case "tokens-reset": limits.tokensResetMilliseconds = reset(value)
            case "input-tokens-remaining", "output-tokens-remaining":
                if let n = Int64(value) { limits.tokensRemaining = min(limits.tokensRemaining ?? n, n) }
            case "input-tokens-reset", "output-tokens-reset":
                if limits.tokensResetMilliseconds == nil { limits.tokensResetMilliseconds = reset(value) }
            default: break
            }
        }
        return limits
    }
}
