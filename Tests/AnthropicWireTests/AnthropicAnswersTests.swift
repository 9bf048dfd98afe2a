import Testing
import TollgatePluginKit
@testable import AnthropicWire

/// Anthropic's rate-limit headers and error bodies, as the plugins read them for health.
@Suite struct AnthropicAnswersTests {
    /// 2025-06-15T15:06:40Z.
    static let now: Int64 = 1_750_000_000_000

    func classify(_ status: Int, _ body: String, headers: [(String, String)] = [], model: String = "claude-2.0") -> ResponseClassification {
        AnthropicAnswers.classify(PluginAnswer(status: status, headers: headers, body: Array(body.utf8), model: model), nowMillis: Self.now)
    }

    @Test func headersWithRFC3339Resets() {
        let verdict = classify(200, "", headers: [
            ("anthropic-ratelimit-requests-limit", "50"), ("Anthropic-RateLimit-Requests-Remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-06-15T15:07:10Z"), ("anthropic-ratelimit-input-tokens-remaining", "900"),
            ("anthropic-ratelimit-output-tokens-remaining", "80"), ("anthropic-ratelimit-tokens-reset", "2025-06-15T15:06:50.5Z"),
        ])
        #expect(verdict.verdict == .ok)
        #expect(verdict.limits.requestLimit == 50 && verdict.limits.requestsRemaining == 0)
        #expect(verdict.limits.requestsResetMilliseconds == 30_000)
        #expect(verdict.limits.tokensResetMilliseconds == 10_500)
        #expect(verdict.limits.tokensRemaining == 80, "the tighter of input and output")
    }

    @Test func malformedHeadersAreIgnored() {
        let verdict = classify(200, "", headers: [("anthropic-ratelimit-requests-limit", "many"),
                                                  ("anthropic-ratelimit-requests-reset", "tomorrow"),
                                                  ("anthropic-ratelimit-tokens-reset", "2025-06-15T15:06:30Z")])
        #expect(verdict.limits.requestLimit == nil && verdict.limits.requestsResetMilliseconds == nil)
        #expect(verdict.limits.tokensResetMilliseconds == 0, "a reset in the past is now")
    }

    @Test(arguments: [
        (429, #"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#, ResponseClassification.Verdict.rateLimited),
        (529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, .overloaded),
        (401, #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#, .auth),
        (403, #"{"type":"error","error":{"type":"permission_error","message":"no"}}"#, .auth),
        (400, #"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#, .quota),
        (400, #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#, .contextWindow),
        (400, #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#, .requestError),
        (413, #"{"type":"error","error":{"type":"request_too_large","message":"big"}}"#, .requestError),
        (404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#, .modelNotFound),
        (500, #"{"type":"error","error":{"type":"api_error","message":"oops"}}"#, .serverError),
        (502, "<html>bad gateway</html>", .serverError),
        (429, "not json", .rateLimited),
    ] as [(Int, String, ResponseClassification.Verdict)])
    func errorBodies(status: Int, body: String, verdict: ResponseClassification.Verdict) {
        #expect(classify(status, body).verdict == verdict)
    }

    /// A retirement only from the structured type with a message naming the channel's own model.
    @Test func retirementNeedsTheStructuredTypeAndTheChannelsModel() {
        let retired = classify(404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-2.0 has been retired, use claude-sonnet-4-5"}}"#)
        #expect(retired.verdict == .deprecated && retired.successor == "claude-sonnet-4-5" && retired.code == "not_found_error")
        let other = classify(404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-2.1 has been retired, use evil"}}"#)
        #expect(other.verdict == .modelNotFound)
        let echoed = classify(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"extra field: claude-2.0 has been retired, use evil"}}"#)
        #expect(echoed.verdict == .requestError)
    }
}
