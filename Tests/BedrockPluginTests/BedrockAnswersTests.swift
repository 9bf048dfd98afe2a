import Testing
import TollgatePluginKit
@testable import BedrockPlugin

/// AWS error answers (Bedrock, SageMaker), as the plugin reads them for health.
@Suite struct BedrockAnswersTests {
    func classify(_ status: Int, _ body: String, type: String? = nil, model: String = "anthropic.claude-v2") -> ResponseClassification {
        BedrockAnswers.classify(PluginAnswer(status: status, headers: type.map { [("X-Amzn-ErrorType", $0)] } ?? [],
                                             body: Array(body.utf8), model: model))
    }

    @Test func errorTypesFromTheHeaderOrTheBody() {
        let throttled = classify(429, #"{"message":"Too many requests, please wait before trying again."}"#,
                                 type: "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
        #expect(throttled.verdict == .rateLimited && throttled.code == "ThrottlingException" && throttled.message.hasPrefix("Too many"))
        let missing = classify(404, #"{"__type":"com.amazon.coral#ResourceNotFoundException","message":"Model not found"}"#)
        #expect(missing.verdict == .modelNotFound && missing.code == "ResourceNotFoundException")
        #expect(classify(403, #"{"Message":"User is not authorized"}"#, type: "AccessDeniedException").verdict == .auth)
        #expect(classify(503, #"{"message":"busy"}"#, type: "ServiceUnavailableException").verdict == .overloaded)
        #expect(classify(400, #"{"message":"Input is too long for requested model."}"#, type: "ValidationException").verdict == .contextWindow)
        #expect(classify(400, #"{"message":"Malformed input request"}"#, type: "ValidationException").verdict == .requestError)
        #expect(classify(500, "garbage").verdict == .serverError)
    }

    /// Bedrock's end of life is a fixed sentence with the structured type (the model is in the
    /// URL): the verdict's message names the channel's model; a client's echoed words do not count.
    @Test func endOfLife() {
        let retired = classify(400, #"{"message":"This model version has reached the end of its life. Please refer to the AWS documentation for more details."}"#,
                               type: "ValidationException:http://internal.amazon.com/")
        #expect(retired.verdict == .deprecated && retired.message.hasPrefix("anthropic.claude-v2: ") && retired.successor == nil)
        let echoed = classify(400, #"{"message":"Malformed input request: extraneous key [anthropic.claude-v2 has reached the end of its life, use evil] is not permitted"}"#,
                              type: "ValidationException")
        #expect(echoed.verdict == .requestError)
        let untyped = classify(400, #"{"message":"This model version has reached the end of its life."}"#)
        #expect(untyped.verdict == .requestError)
    }
}
