/// Gemini `:embedContent` / `:batchEmbedContents` requests -> internal (OpenAI embeddings)
/// requests, for channels that do not take Gemini bodies. Each content is one input: its text
/// parts joined by a newline.
enum GeminiEmbeddingsRequest {
    static func toIR(_ body: JSONValue, model: String) throws(GatewayError) -> JSONValue {
        guard case .object = body else { throw .badRequest("request body must be a JSON object") }
        let requests: [JSONValue]
        if let batch = body["requests"] {
            guard let list = batch.arrayValue, !list.isEmpty else { throw .badRequest("'requests' must be a non-empty array") }
            requests = list
        } else {
            requests = [body]
        }
        var inputs: [JSONValue] = []
        for (index, request) in requests.enumerated() {
            let field = body["requests"] == nil ? "content" : "requests[\(index)].content"
            guard let parts = GeminiRequest.field(request, "content")?["parts"]?.arrayValue else {
                throw .badRequest("'\(field)' must have parts")
            }
            let texts = parts.compactMap { $0["text"]?.stringValue }
            guard texts.count == parts.count, !texts.isEmpty else { throw .badRequest("'\(field).parts' must be text parts") }
            inputs.append(.string(texts.joined(separator: "\n")))
        }
        var out: [JSONValue.Member] = [.init("model", .string(model)), .init("input", .array(inputs))]
        let first = requests[0]
        if let dimensions = GeminiRequest.field(first, "outputDimensionality", "output_dimensionality"), !dimensions.isNull {
            guard let n = dimensions.int64Value, n > 0 else { throw .badRequest("'outputDimensionality' must be a positive integer") }
            out.append(.init("dimensions", .int(n)))
        }
        return .object(out)
    }
}

/// Internal (OpenAI embeddings) answers -> Gemini's: `{"embedding":{"values":[...]}}` for
/// `:embedContent`, `{"embeddings":[{"values":[...]}, ...]}` for `:batchEmbedContents`.
final class GeminiEmbeddingsTranslator: ResponseTranslator {
    let batch: Bool

    init(batch: Bool) { self.batch = batch }

    var streamContentType: String { "application/json" }

    func complete(status: Int, body: [UInt8]) -> [UInt8] {
        guard let json = try? JSONParser.parse(body) else { return GoogleErrorBody.body(status: 502, message: "upstream answer is not JSON") }
        guard (200..<300).contains(status), json["error"] == nil else {
            let message = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? "upstream error (HTTP \(status))"
            return GoogleErrorBody.body(status: status, message: message)
        }
        let data = (json["data"]?.arrayValue ?? []).sorted { ($0["index"]?.int64Value ?? 0) < ($1["index"]?.int64Value ?? 0) }
        // Base64 vectors are never asked for (the converted request does not set encoding_format).
        let values = data.map { JSONValue.object(["values": $0["embedding"] ?? .array([])]) }
        if batch { return JSONValue.object(["embeddings": .array(values)]).serialized() }
        return JSONValue.object(["embedding": values.first ?? .object(["values": .array([])])]).serialized()
    }

    func streamChunk(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { [] }
    func streamEnd() -> [UInt8] { [] }
}
