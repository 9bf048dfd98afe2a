import Foundation

/// What an upstream said about its rate limits. `parse` reads the shapes of the channels the core
/// serves itself: OpenAI's (the gateway's internal dialect) `x-ratelimit-{limit,remaining,reset}-
/// {requests,tokens}` (resets like `6m0s`); Azure's `x-ratelimit-remaining-*`, `x-ms-region`,
/// `x-ms-retry-after-ms`, `retry-after-ms`; HTTP's `retry-after` (seconds or HTTP date). A plugin
/// reads its provider's own headers (`on_classify_response`).
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

    /// Whether `parse` may read a field so named (its names all begin so): the fields a 2xx head
    /// hands it are picked by this before any becomes text.
    static func mayRead(_ name: UnsafeRawBufferPointer) -> Bool {
        guard let first = name.first else { return false }
        return first | 0x20 == UInt8(ascii: "x") ? name.hasPrefixIgnoringASCIICase("x-ratelimit-") || name.hasPrefixIgnoringASCIICase("x-ms-")
            : first | 0x20 == UInt8(ascii: "r") && name.hasPrefixIgnoringASCIICase("retry-after")
    }

    /// Reads the headers; `now` is the wall clock for dates. Header names in any case.
    /// `now` is read only for a `retry-after` date (most answers carry none).
    static func parse(_ headers: some Sequence<(String, String)>, now: @autoclosure () -> Date = Date()) -> RateLimitInfo {
        var info = RateLimitInfo()
        var retryAfterMillis: Duration?
        for (rawName, value) in headers {
            // Cheap first look (this runs on every answer): the names wanted start with x or r.
            guard let first = rawName.utf8.first, first | 0x20 == UInt8(ascii: "x") || first | 0x20 == UInt8(ascii: "r") else { continue }
            let name = rawName.lowercased()
            guard name.contains("ratelimit") || name.contains("retry-after") || name == "x-ms-region" else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            switch name {
            case "retry-after": info.retryAfter = info.retryAfter ?? DurationText.retryAfter(trimmed, now: now())
            case "retry-after-ms", "x-ms-retry-after-ms":
                if let ms = Double(trimmed), ms >= 0 { retryAfterMillis = .milliseconds(Int64(ms.rounded(.up))) }
            case "x-ms-region": info.region = trimmed
            case "x-ratelimit-limit-requests": info.requestLimit = Int(trimmed)
            case "x-ratelimit-remaining-requests": info.requestsRemaining = Int(trimmed)
            case "x-ratelimit-limit-tokens": info.tokenLimit = Int(trimmed)
            case "x-ratelimit-remaining-tokens": info.tokensRemaining = Int(trimmed)
            case "x-ratelimit-reset-requests": info.requestsReset = ProviderTime.milliseconds(trimmed).map(Duration.milliseconds)
            case "x-ratelimit-reset-tokens": info.tokensReset = ProviderTime.milliseconds(trimmed).map(Duration.milliseconds)
            default: break
            }
        }
        // Milliseconds are more precise than retry-after's whole seconds (Azure sends both).
        if let retryAfterMillis { info.retryAfter = retryAfterMillis }
        return info
    }
}
