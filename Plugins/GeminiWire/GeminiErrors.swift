import TollgatePluginKit

/// Google API errors -> OpenAI errors.
///
/// Google answers `{"error":{"code":400,"message":"...","status":"INVALID_ARGUMENT","details":[...]}}`
/// (sometimes wrapped in a one-element array); the client gets
/// `{"error":{"message","type":<status lower-cased>,"code":<status>}}` with the upstream's HTTP
/// status kept, so retries and rate-limit handling in OpenAI SDKs behave as they would upstream.
public enum GeminiErrors {
    /// The `error` object of a Google error body, if it is one.
    public static func errorObject(_ json: JSONValue?) -> JSONValue? {
        if let error = json?["error"], case .object = error { return error }
        if let first = json?[0]?["error"], case .object = first { return first }
        return nil
    }

    public static func openAIBody(status: Int, body: [UInt8]) -> [UInt8] {
        let error = errorObject(Wire.parse(body))
        let googleStatus = error?["status"]?.stringValue
        var message = error?["message"]?.stringValue ?? ""
        if message.isEmpty {
            let text = String(decoding: body.prefix(512), as: UTF8.self).trimmingSpaces
            message = text.isEmpty ? "Gemini answered HTTP \(status)" : "Gemini answered HTTP \(status): \(text)"
        }
        return JSONValue.object(["error": .object([
            "message": .string(message),
            "type": .string(googleStatus?.lowercased() ?? "upstream_error"),
            "code": googleStatus.map(JSONValue.string) ?? .null,
        ])]).serialized()
    }

    /// A message for an error found in a 2xx body or a stream event.
    public static func message(_ error: JSONValue) -> String {
        let text = error["message"]?.stringValue ?? "unknown error"
        if let status = error["status"]?.stringValue { return "Gemini error \(status): \(text)" }
        return "Gemini error: \(text)"
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
