import TollgatePluginKit

/// countTokens bodies for a request in the internal (OpenAI chat) dialect, converted as a chat
/// would be, so the system instruction and the tools are counted too. The answer's
/// `{"totalTokens": N}` is read by `PluginConvertedResponse.tokenCount`.
public enum GeminiCount {
    /// Gemini API: `{"generateContentRequest": {"model": "models/<m>", contents, systemInstruction,
    /// tools, ...}}` (`contents` alone would leave the system instruction and tools out).
    public static func body(fromOpenAI body: [UInt8], resource: String) throws(PluginError) -> [UInt8] {
        let request = try GenerateContentRequest.fromOpenAI(parsed(body)).objectValue ?? []
        return JSONValue.object(["generateContentRequest": .object([.init("model", .string(resource))] + request)]).serialized()
    }

    /// Vertex AI: the request's members at the top level, those its CountTokensRequest has.
    public static func vertexBody(fromOpenAI body: [UInt8]) throws(PluginError) -> [UInt8] {
        vertexBody(try GenerateContentRequest.fromOpenAI(parsed(body)))
    }

    /// Vertex AI for a Gemini client's countTokens body, which google-genai may wrap in
    /// `generateContentRequest` (the Gemini API's form, unknown to Vertex).
    public static func vertexBody(fromGemini body: [UInt8]) throws(PluginError) -> [UInt8] {
        let request = try parsed(body)
        return vertexBody(request["generateContentRequest"] ?? request["generate_content_request"] ?? request)
    }

    static let vertexMembers: Set<String> = ["contents", "systemInstruction", "tools", "generationConfig"]

    static func vertexBody(_ request: JSONValue) -> [UInt8] {
        JSONValue.object((request.objectValue ?? []).filter { vertexMembers.contains($0.key) }).serialized()
    }

    static func parsed(_ body: [UInt8]) throws(PluginError) -> JSONValue {
        do { return try JSONParser.parse(body) } catch { throw PluginError(.invalidInput, "request body is not JSON: \(error)") }
    }
}
