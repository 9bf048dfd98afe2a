import Foundation
import Testing
@testable import TollgateCore

/// Rate-limit headers and error bodies in OpenAI's and Azure's shapes (the core's own), and
/// deprecation notices. Plugins' shapes are tested beside them (AnthropicAnswers, GoogleAnswers, BedrockAnswers).
@Suite struct ResponseParserTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    @Test(arguments: [("6m0s", 360_000), ("1m30s", 90_000), ("150ms", 150), ("7.66s", 7_660), ("1h2m3s", 3_723_000),
                      ("30s", 30_000), ("0s", 0), ("2", 2_000)])
    func goStyleDurations(text: String, millis: Int64) {
        #expect(ProviderTime.milliseconds(text) == millis)
    }

    @Test func nonsenseIsNoDuration() {
        #expect(ProviderTime.milliseconds("soon") == nil)
        #expect(ProviderTime.milliseconds("5x") == nil)
        #expect(ProviderTime.milliseconds("") == nil)
        #expect(ProviderTime.milliseconds("99999999999999999h") == nil)
    }

    @Test func rfc3339Instants() {
        #expect(ProviderTime.unixMillis(rfc3339: "2025-06-15T15:06:40Z") == 1_750_000_000_000)
        #expect(ProviderTime.unixMillis(rfc3339: "2025-06-15T15:06:50.5Z") == 1_750_000_010_500)
        #expect(ProviderTime.unixMillis(rfc3339: "2025-06-15T17:06:40+02:00") == 1_750_000_000_000)
        for bad in ["", "2025-06-15", "2025-13-15T15:06:40Z", "2025-06-15T15:06:40", "2025-06-15T15:06:40Zjunk", "２０２５-06-15T15:06:40Z"] {
            #expect(ProviderTime.unixMillis(rfc3339: bad) == nil, "\(bad)")
        }
    }

    @Test func rfc3339TextsRoundTrip() {
        #expect(ProviderTime.rfc3339(unixMillis: 1_750_000_010_500) == "2025-06-15T15:06:50.500Z")
        #expect(ProviderTime.rfc3339(unixMillis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ProviderTime.rfc3339(unixMillis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(ProviderTime.rfc3339(unixMillis: 951_782_400_007) == "2000-02-29T00:00:00.007Z")  // a leap day
        #expect(ProviderTime.rfc3339(unixMillis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let millis = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)  // years 1 to 9999
            #expect(ProviderTime.unixMillis(rfc3339: ProviderTime.rfc3339(unixMillis: millis)) == millis, "\(millis)")
        }
    }

    @Test func openAIHeaders() {
        let info = RateLimitInfo.parse([("x-ratelimit-limit-requests", "500"), ("x-ratelimit-remaining-requests", "0"),
                                        ("x-ratelimit-reset-requests", "6m0s"), ("X-RateLimit-Limit-Tokens", "30000"),
                                        ("x-ratelimit-remaining-tokens", "29000"), ("x-ratelimit-reset-tokens", "150ms")], now: Self.now)
        #expect(info.requestLimit == 500 && info.requestsRemaining == 0 && info.requestsReset == .seconds(360))
        #expect(info.tokenLimit == 30000 && info.tokensRemaining == 29000 && info.tokensReset == .milliseconds(150))
        #expect(info.wait == .seconds(360))  // the exhausted budget's reset
    }

    @Test func azureHeadersPreferMilliseconds() {
        let info = RateLimitInfo.parse([("retry-after", "3"), ("x-ms-retry-after-ms", "2500"), ("x-ratelimit-remaining-requests", "0"),
                                        ("x-ratelimit-remaining-tokens", "120"), ("x-ms-region", "East US")], now: Self.now)
        #expect(info.retryAfter == .milliseconds(2500))
        #expect(info.requestsRemaining == 0 && info.tokensRemaining == 120 && info.region == "East US")
        #expect(RateLimitInfo.parse([("retry-after-ms", "750")]).retryAfter == .milliseconds(750))
    }

    @Test func retryAfterAsSecondsOrHTTPDate() {
        #expect(RateLimitInfo.parse([("Retry-After", "17")], now: Self.now).retryAfter == .seconds(17))
        #expect(RateLimitInfo.parse([("retry-after", "Sun, 15 Jun 2025 15:07:40 GMT")], now: Self.now).retryAfter == .seconds(60))
        #expect(RateLimitInfo.parse([("retry-after", "whenever")], now: Self.now).retryAfter == nil)
    }

    @Test func anthropicHeadersAreNotTheCoresToRead() {
        #expect(RateLimitInfo.parse([("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0")]).isEmpty)
    }

    @Test func openAIErrorsAndScopes() {
        let quota = UpstreamErrorInfo.parse(status: 429, body: Array(#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#.utf8))
        #expect(quota.isQuotaExhausted && quota.scope == .account)
        guard case .quotaExhausted = AttemptOutcome.classify(status: 429, headers: [], body: Array(#"{"error":{"message":"x","type":"insufficient_quota","code":"insufficient_quota"}}"#.utf8)) else {
            Issue.record("insufficient_quota is not a rate limit"); return
        }
        let bare = UpstreamErrorInfo.parse(status: 401, body: Array(#"{"message":"invalid key"}"#.utf8))
        #expect(bare.message == "invalid key" && bare.scope == .account)
        let missing = UpstreamErrorInfo.parse(status: 404, body: Array(#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#.utf8))
        #expect(missing.scope == .model && missing.code == "model_not_found")
    }

    @Test func statusesClassify() {
        func kind(_ status: Int, _ body: String = "{}", model: String = "text-davinci-003") -> String {
            switch AttemptOutcome.classify(status: status, headers: [], body: Array(body.utf8), model: model) {
            case .requestError: "request"
            case .rateLimited: "rate"
            case .authFailed: "auth"
            case .quotaExhausted: "quota"
            case .modelNotFound: "missing"
            case .deprecated: "deprecated"
            case .serverError: "server"
            case .timeout: "timeout"
            default: "other"
            }
        }
        #expect(kind(400) == "request" && kind(422) == "request" && kind(413) == "request")
        #expect(kind(401) == "auth" && kind(403) == "auth" && kind(402) == "quota" && kind(404) == "missing")
        #expect(kind(429) == "rate" && kind(500) == "server" && kind(503) == "server" && kind(529) == "server" && kind(408) == "timeout")
        #expect(kind(404, #"{"error":{"message":"The model 'text-davinci-003' has been deprecated","code":"model_not_found"}}"#) == "deprecated")
        // Without the provider's code the same words are only a model not found, and a 400 the client's.
        #expect(kind(404, #"{"error":{"message":"The model 'text-davinci-003' has been deprecated"}}"#) == "missing")
        #expect(kind(400, #"{"error":{"message":"The model 'text-davinci-003' has been deprecated","type":"invalid_request_error"}}"#) == "request")
        #expect(kind(422, #"{"error":{"message":"bad","type":"invalid_request_error"}}"#) == "request")
        #expect(!AttemptOutcome.requestError(status: 400).isRetryable && AttemptOutcome.serverError(status: 500, .init(message: "", scope: .unknown)).isRetryable)
    }

    @Test(arguments: [
        ("The model `gpt-4-0314` has been deprecated, please use 'gpt-4o' instead.", DeprecationNotice.Replacement.model("gpt-4o")),
        ("claude-2.0 is no longer available. Use claude-sonnet-4-5 instead.", .model("claude-sonnet-4-5")),
        ("This model has been retired; migrate to \"gemini-2.5-flash\".", .model("gemini-2.5-flash")),
        ("API version 2023-05-15 is deprecated; use version '2024-10-21'.", .apiVersion("2024-10-21")),
        ("The API version 2023-07-01-preview has been retired. Please use 2024-10-21.", .apiVersion("2024-10-21")),
    ])
    func deprecationNoticesNameTheirReplacement(message: String, replacement: DeprecationNotice.Replacement) {
        #expect(DeprecationNotice.read(message)?.replacement == replacement)
    }

    @Test func deprecationWithoutReplacementAndOrdinaryErrors() {
        #expect(DeprecationNotice.read("This model is deprecated.")?.replacement == nil)
        #expect(DeprecationNotice.read("This model is deprecated.") != nil)
        #expect(DeprecationNotice.read("Invalid value for 'temperature'") == nil)
    }

    /// Only the provider's structured code, naming the channel's own model (or API version),
    /// makes a deprecation; text a client could have put in the message does not.
    @Test(arguments: [
        // (status, body, upstream model, api version, detected successor or "none" / nil)
        (404, #"{"error":{"message":"The model `gpt-4-0314` has been deprecated, use 'gpt-4o' instead.","type":"invalid_request_error","code":"model_not_found"}}"#, "gpt-4-0314", nil, "gpt-4o"),
        // Other providers' shapes are their plugins' to read: not the core's.
        (404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-2.0 has been retired, use claude-sonnet-4-5"}}"#, "claude-2.0", nil, nil),
        (400, #"{"message":"This model version has reached the end of its life. Please refer to the AWS documentation for more details."}"#, "anthropic.claude-v2", nil, nil),
        (400, #"{"error":{"code":"DeprecatedApiVersion","message":"API version 2023-05-15 is deprecated; use version '2024-10-21'."}}"#, "gpt-4o", "2023-05-15", "2024-10-21"),
        // Hostile or foreign: no code, another model, a longer name, another version, a client's text echoed.
        (400, #"{"error":{"message":"Unrecognized request argument supplied: this model is deprecated, use gpt-bogus-9 instead","type":"invalid_request_error","param":null,"code":null}}"#, "gpt-4o", nil, nil),
        (404, #"{"error":{"message":"The model `gpt-3` has been deprecated, use 'gpt-bogus' instead.","code":"model_not_found"}}"#, "gpt-4o", nil, nil),
        (404, #"{"error":{"message":"The model `gpt-4o-old` has been deprecated, use 'x' instead.","code":"model_not_found"}}"#, "gpt-4o", nil, nil),
        (400, #"{"error":{"code":"DeprecatedApiVersion","message":"API version 2023-05-15 is deprecated; use version '2024-10-21'."}}"#, "gpt-4o", "2024-06-01", nil),
        (400, #"{"message":"Malformed input request: extraneous key [anthropic.claude-v2 has reached the end of its life, use evil] is not permitted"}"#, "anthropic.claude-v2", nil, nil),
        (429, #"{"error":{"message":"gpt-4o is deprecated","code":"model_not_found"}}"#, "gpt-4o", nil, nil),
    ] as [(Int, String, String, String?, String?)])
    func deprecationNeedsTheProvidersOwnSignal(status: Int, body: String, model: String, apiVersion: String?, successor: String?) {
        let error = UpstreamErrorInfo.parse(status: status, body: Array(body.utf8))
        let notice = DeprecationNotice.detect(error, status: status, model: model, apiVersion: apiVersion)
        switch notice?.replacement {
        case nil: #expect(notice == nil ? successor == nil : successor == "none")
        case .model(let name)?, .apiVersion(let name)?: #expect(name == successor)
        }
    }
}
