/// A count asked of a channel in the internal dialect (its plugin does not take the client's)
/// comes back as `{"input_tokens": N}` or an OpenAI-style error; this puts it in the client's
/// shape: Anthropic's `{"input_tokens": N}` or Gemini's `{"totalTokens": N}`. The plugin has
/// already refused (502) an answer without a count, so the checks here only guard the shape.
final class CountTokensTranslator: ResponseTranslator {
    let gemini: Bool

    init(gemini: Bool) { self.gemini = gemini }

    var streamContentType: String { "application/json" }

    func complete(status: Int, body: [UInt8]) -> [UInt8] {
        guard let json = try? JSONParser.parse(body) else { return error(status: 502, message: "upstream answer is not JSON") }
        guard (200..<300).contains(status), json["error"] == nil else {
            let message = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? "upstream error (HTTP \(status))"
            return error(status: status, message: message)
        }
        guard let tokens = json["input_tokens"]?.int64Value else { return error(status: 502, message: "upstream answer has no token count") }
        return Self.body(tokens: tokens, gemini: gemini)
    }

    func streamChunk(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { [] }
    func streamEnd() -> [UInt8] { [] }

    /// A count in the client's shape.
    static func body(tokens: Int64, gemini: Bool) -> [UInt8] {
        JSONValue.object([gemini ? "totalTokens" : "input_tokens": .int(tokens)]).serialized()
    }

    private func error(status: Int, message: String) -> [UInt8] {
        gemini ? GoogleErrorBody.body(status: status, message: message) : AnthropicErrors.body(status: status, message: message)
    }
}
