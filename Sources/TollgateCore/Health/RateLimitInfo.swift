import Foundation

/// What an upstream said about its rate limits, from headers (and, for Google, the error body).
/// OpenAI: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (resets like `6m0s`);
/// Anthropic: `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
/// (resets RFC 3339); Azure: `x-ratelimit-remaining-*`, `x-ms-region`, `x-ms-retry-after-ms`,
/// `retry-after-ms`; everyone: `retry-after` (seconds or HTTP date).
struct RateLimitInfo: Sendable, Equatable {
    var retryAfter: Duration?
    var requestLimit: Int?
    var requestsRemaining: Int?
    var requestsReset: Duration?
    var tokenLimit: Int?
    var tokensRemaining: Int?
    var tokensReset: Duration?
    var region: String?

    var isEmpty: Bool { self == RateLimitInfo() }

    /// How long to stay away after a 429: the explicit advice, else the reset of an exhausted
    /// budget, else nil (the caller's default applies).
    var wait: Duration? {
        if let retryAfter { return retryAfter }
        if requestsRemaining == 0, let requestsReset { return requestsReset }
        if tokensRemaining == 0, let tokensReset { return tokensReset }
        return requestsReset ?? tokensReset
    }

    /// Reads the headers; `now` is the wall clock for dates. Header names in any case.
    static func parse(_ headers: some Sequence<(String, String)>, now: Date = Date()) -> RateLimitInfo {
        var info = RateLimitInfo()
        var retryAfterMillis: Duration?
        for (rawName, value) in headers {
            // Cheap first look (this runs on every answer): the names wanted start with x, a or r.
            guard let first = rawName.utf8.first, first | 0x20 == UInt8(ascii: "x") || first | 0x20 == UInt8(ascii: "a")
                    || first | 0x20 == UInt8(ascii: "r") else { continue }
            let name = rawName.lowercased()
            guard name.contains("ratelimit") || name.contains("retry-after") || name == "x-ms-region" else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            switch name {
            case "retry-after": info.retryAfter = info.retryAfter ?? DurationText.retryAfter(trimmed, now: now)
            case "retry-after-ms", "x-ms-retry-after-ms":
                if let ms = Double(trimmed), ms >= 0 { retryAfterMillis = .milliseconds(Int64(ms.rounded(.up))) }
            case "x-ms-region": info.region = trimmed
            case "x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit": info.requestLimit = Int(trimmed)
            case "x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining": info.requestsRemaining = Int(trimmed)
            case "x-ratelimit-limit-tokens", "anthropic-ratelimit-tokens-limit": info.tokenLimit = Int(trimmed)
            case "x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining": info.tokensRemaining = Int(trimmed)
            case "x-ratelimit-reset-requests": info.requestsReset = DurationText.parse(trimmed)
            case "x-ratelimit-reset-tokens": info.tokensReset = DurationText.parse(trimmed)
            case "anthropic-ratelimit-requests-reset": info.requestsReset = DurationText.untilTimestamp(trimmed, now: now)
            case "anthropic-ratelimit-tokens-reset": info.tokensReset = DurationText.untilTimestamp(trimmed, now: now)
            case "anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-output-tokens-remaining":
                // Either budget running out limits the model; keep the tighter.
                if let n = Int(trimmed) { info.tokensRemaining = min(info.tokensRemaining ?? n, n) }
            case "anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-output-tokens-reset":
                if let d = DurationText.untilTimestamp(trimmed, now: now), info.tokensReset == nil { info.tokensReset = d }
            default: break
            }
        }
        // Milliseconds are more precise than retry-after's whole seconds (Azure sends both).
        if let retryAfterMillis { info.retryAfter = retryAfterMillis }
        return info
    }
}
