import TollgatePluginKit

/// Reads AWS's answers (Bedrock and SageMaker) for the gateway's health (`on_classify_response`):
/// `{"message": ...}` (or `Message`) bodies with the error type in `x-amzn-errortype`
/// (`ThrottlingException:http://...`) or `__type` (`com.amazon.coral#...`).
enum BedrockAnswers {
    /// Bedrock's end-of-life answer is a fixed sentence: the model is in the URL, not the text.
    static let endOfLife = "this model version has reached the end of its life"

    static func classify(_ answer: PluginAnswer) -> ResponseClassification {
        if (200..<300).contains(answer.status) { return ResponseClassification(.ok) }
        let json = try? JSONParser.parse(answer.body)
        let message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue
            ?? String(decoding: answer.body.prefix(300), as: UTF8.self)
        var type = json?["__type"]?.stringValue.map { String($0.split(separator: "#").last ?? Substring($0)) }
        if type == nil, let header = answer.header("x-amzn-errortype") {
            type = String(header.split(separator: ":").first ?? Substring(header))
        }
        func verdict(_ v: ResponseClassification.Verdict) -> ResponseClassification {
            ResponseClassification(v, message: message, code: type)
        }
        switch type {
        case "ThrottlingException", "ServiceQuotaExceededException": return verdict(.rateLimited)
        case "ServiceUnavailableException", "ModelNotReadyException": return verdict(.overloaded)
        case "AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException":
            return verdict(.auth)
        case "ResourceNotFoundException": return verdict(.modelNotFound)
        case "ValidationException":
            if message.lowercased().hasPrefix(endOfLife) {
                // The structured type and the fixed sentence; the health view names the model.
                return ResponseClassification(.deprecated, message: "\(answer.model): \(message)", code: type,
                                              successor: RetirementText.successorModel(in: message, retiring: answer.model))
            }
            if message.lowercased().contains("input is too long") { return verdict(.contextWindow) }
            return verdict(.requestError)
        default: return verdict(ResponseClassification.Verdict(status: answer.status))
        }
    }
}
