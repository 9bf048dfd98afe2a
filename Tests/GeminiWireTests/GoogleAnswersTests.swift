import Testing
import TollgatePluginKit
@testable import GeminiWire

/// Google's error bodies (Gemini and Vertex), as the plugins read them for health.
@Suite struct GoogleAnswersTests {
    func classify(_ status: Int, _ body: String, model: String = "gemini-1.0-pro") -> ResponseClassification {
        GoogleAnswers.classify(PluginAnswer(status: status, headers: [], body: Array(body.utf8), model: model))
    }

    @Test func retryInfoInTheBody() {
        let verdict = classify(429, #"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure"},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"38s"}]}}"#)
        #expect(verdict.verdict == .rateLimited && verdict.limits.retryAfterMilliseconds == 38_000)
        #expect(verdict.code == "RESOURCE_EXHAUSTED" && verdict.message.hasPrefix("Resource has been exhausted"))
        let wrapped = classify(429, #"[{"error":{"code":429,"message":"x","status":"RESOURCE_EXHAUSTED","details":[{"@type":"x.RetryInfo","retryDelay":"soon"}]}}]"#)
        #expect(wrapped.verdict == .rateLimited && wrapped.limits.retryAfterMilliseconds == nil, "a malformed delay is no delay")
    }

    @Test(arguments: [
        (401, #"{"error":{"code":401,"message":"API key not valid","status":"UNAUTHENTICATED"}}"#, ResponseClassification.Verdict.auth),
        (403, #"{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}"#, .auth),
        (503, #"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#, .overloaded),
        (400, #"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#, .contextWindow),
        (400, #"{"error":{"code":400,"message":"bad temperature","status":"INVALID_ARGUMENT"}}"#, .requestError),
        (404, #"{"error":{"code":404,"message":"models/gemini-9 is not found","status":"NOT_FOUND"}}"#, .modelNotFound),
        (500, #"{"error":{"code":500,"message":"internal","status":"INTERNAL"}}"#, .serverError),
        (500, "", .serverError),
        (418, "teapot", .requestError),
    ] as [(Int, String, ResponseClassification.Verdict)])
    func errorBodies(status: Int, body: String, verdict: ResponseClassification.Verdict) {
        #expect(classify(status, body).verdict == verdict)
    }

    @Test func retirementNeedsNotFoundAndTheChannelsModel() {
        let retired = classify(404, #"{"error":{"code":404,"message":"models/gemini-1.0-pro is no longer available. Use gemini-2.5-flash instead.","status":"NOT_FOUND"}}"#)
        #expect(retired.verdict == .deprecated && retired.successor == "gemini-2.5-flash")
        let echoed = classify(400, #"{"error":{"code":400,"message":"Invalid JSON payload: gemini-1.0-pro is no longer available, use evil","status":"INVALID_ARGUMENT"}}"#)
        #expect(echoed.verdict == .requestError)
        let longer = classify(404, #"{"error":{"code":404,"message":"models/gemini-1.0-pro-001 is no longer available","status":"NOT_FOUND"}}"#)
        #expect(longer.verdict == .modelNotFound)
    }
}
