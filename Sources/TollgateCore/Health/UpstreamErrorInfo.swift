/// The error an upstream answered with, read from its body in the provider's shape: OpenAI
/// `error.{message,type,code}`, Anthropic `error.{type,message}`, Google
/// `error.{code,message,status,details}` (with `RetryInfo.retryDelay`), Bedrock `message` /
/// `__type`. Also what it is about (`scope`), so health knows whether the channel or one model
/// is hurt.
struct UpstreamErrorInfo: Sendable, Equatable {
    enum Scope: String, Sendable { case account, model, unknown }

    var message: String
    var type: String?
    var code: String?
    var scope: Scope
    /// Google's `RetryInfo.retryDelay` (e.g. `"30s"`).
    var retryDelay: Duration?

    /// A 400 saying the prompt does not fit the model's context window: OpenAI's
    /// `context_length_exceeded` code, Anthropic's "prompt is too long", Google's "exceeds the
    /// maximum number of tokens". (Only ever moves the request that caused it.)
    static func isContextWindowError(status: Int, body: [UInt8]) -> Bool {
        guard status == 400 || status == 413 else { return false }
        let error = parse(status: status, body: body)
        return error.code == "context_length_exceeded" || error.message.hasPrefix("prompt is too long")
            || error.message.contains("exceeds the maximum number of tokens") || error.message.contains("maximum context length")
    }

    static func parse(status: Int, body: [UInt8], headers: [(String, String)] = []) -> UpstreamErrorInfo {
        let json = try? JSONParser.parse(body)
        var message: String?
        var type: String?
        var code: String?
        var retryDelay: Duration?
        if let error = json?["error"], error.objectValue != nil {
            message = error["message"]?.stringValue
            type = error["type"]?.stringValue ?? error["status"]?.stringValue
            code = error["code"]?.stringValue ?? error["code"]?.int64Value.map { String($0) }
            for detail in error["details"]?.arrayValue ?? [] where detail["@type"]?.stringValue?.hasSuffix("RetryInfo") == true {
                retryDelay = detail["retryDelay"]?.stringValue.flatMap(DurationText.parse)
            }
        } else if let error = json?["error"]?.stringValue {
            message = error
        } else if let json {
            message = json["message"]?.stringValue ?? json["Message"]?.stringValue
            type = json["__type"]?.stringValue.map { String($0.split(separator: "#").last ?? Substring($0)) }
        }
        if type == nil, let amzn = headers.first(where: { $0.0.lowercased() == "x-amzn-errortype" })?.1 {
            type = String(amzn.split(separator: ":").first ?? Substring(amzn))
        }
        let text = message ?? String(decoding: body.prefix(300), as: UTF8.self)
        return UpstreamErrorInfo(message: text.isEmpty ? "HTTP \(status)" : text, type: type, code: code,
                                 scope: scope(status: status, type: type, code: code, message: text), retryDelay: retryDelay)
    }

    /// Out of credit, whatever the status: OpenAI sends `insufficient_quota` with 429.
    var isQuotaExhausted: Bool {
        let markers: Set<String> = ["insufficient_quota", "billing_hard_limit_reached", "credit_balance_too_low"]
        if let code, markers.contains(code) { return true }
        if let type, markers.contains(type) { return true }
        return message.lowercased().contains("credit balance is too low")
    }

    static func scope(status: Int, type: String?, code: String?, message: String) -> Scope {
        let lower = message.lowercased()
        if status == 401 || status == 402 || status == 403 { return .account }
        if code == "insufficient_quota" || type == "insufficient_quota" { return .account }
        if status == 404 || code == "model_not_found" { return .model }
        if let type, ["not_found_error", "NOT_FOUND", "ResourceNotFoundException"].contains(type) { return .model }
        let mentionsMissing = lower.contains("not found") || lower.contains("does not exist")
        if lower.contains("model") && mentionsMissing { return .model }
        return .unknown
    }
}
