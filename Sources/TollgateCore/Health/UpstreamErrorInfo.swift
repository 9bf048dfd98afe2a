/// The error an upstream answered with. `parse` reads OpenAI's shape (the gateway's internal
/// dialect, also Azure's and OpenAI-compatible servers'): `error.{message,type,code}`, a bare
/// `error` string or a top-level `message`. Plugins read their providers' shapes
/// (`on_classify_response`). Also what it is about (`scope`), so health knows whether the channel
/// or one model is hurt.
struct UpstreamErrorInfo: Sendable, Equatable {
    enum Scope: String, Sendable { case account, model, unknown }

    var message: String
    var type: String?
    var code: String?
    var scope: Scope

    /// A 400 saying the prompt does not fit the model's context window: OpenAI's
    /// `context_length_exceeded` code or its "maximum context length" wording. (Only ever moves
    /// the request that caused it.)
    static func isContextWindowError(status: Int, body: [UInt8]) -> Bool {
        guard status == 400 || status == 413 else { return false }
        let error = parse(status: status, body: body)
        return error.code == "context_length_exceeded" || error.message.contains("maximum context length")
    }

    static func parse(status: Int, body: [UInt8]) -> UpstreamErrorInfo {
        let json = try? JSONParser.parse(body)
        var message: String?
        var type: String?
        var code: String?
        if let error = json?["error"], error.objectValue != nil {
            message = error["message"]?.stringValue
            type = error["type"]?.stringValue
            code = error["code"]?.stringValue ?? error["code"]?.int64Value.map { String($0) }
        } else if let error = json?["error"]?.stringValue {
            message = error
        } else if let json {
            message = json["message"]?.stringValue
        }
        let text = message ?? String(decoding: body.prefix(300), as: UTF8.self)
        return UpstreamErrorInfo(message: text.isEmpty ? "HTTP \(status)" : text, type: type, code: code,
                                 scope: scope(status: status, type: type, code: code, message: text))
    }

    /// Out of credit, whatever the status: OpenAI sends `insufficient_quota` with 429.
    var isQuotaExhausted: Bool {
        let markers: Set<String> = ["insufficient_quota", "billing_hard_limit_reached"]
        if let code, markers.contains(code) { return true }
        if let type, markers.contains(type) { return true }
        return false
    }

    static func scope(status: Int, type: String?, code: String?, message: String) -> Scope {
        let lower = message.lowercased()
        if status == 401 || status == 402 || status == 403 { return .account }
        if code == "insufficient_quota" || type == "insufficient_quota" { return .account }
        if status == 404 || code == "model_not_found" { return .model }
        let mentionsMissing = lower.contains("not found") || lower.contains("does not exist")
        if lower.contains("model") && mentionsMissing { return .model }
        return .unknown
    }
}
