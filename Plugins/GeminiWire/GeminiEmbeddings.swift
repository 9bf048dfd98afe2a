import TollgatePluginKit

/// OpenAI embeddings <-> Gemini `batchEmbedContents`.
///
/// One Gemini request per input string, in order. Gemini reports no token counts for
/// embeddings, so the usage is estimated (a token per four UTF-8 bytes of input) and flagged as
/// such. `encoding_format: base64` (what OpenAI SDKs ask for by default) is honoured: the
/// vector's little-endian float32 bytes, base64-encoded.
public enum GeminiEmbeddings {
    public struct Request: Sendable {
        public var body: [UInt8]
        public var inputs: [String]
    }

    /// `resource` is the model's resource name, `models/{model}`.
    public static func fromOpenAI(_ body: [UInt8], resource: String) throws(PluginError) -> Request {
        guard let json = Wire.parse(body), case .object = json else { throw PluginError(.invalidInput, "request body is not a JSON object") }
        let inputs: [String]
        switch json["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }): inputs = items.compactMap(\.stringValue)
        case .array(let items)? where !items.isEmpty:
            throw PluginError(.unsupported, "Gemini embeds text only; token arrays in \"input\" are not supported")
        default: throw PluginError(.invalidInput, "\"input\" must be a string or a non-empty array of strings")
        }
        var dimensions: JSONValue?
        switch json["dimensions"] {
        case nil, .null?: break
        case .number(let n)?: dimensions = .number(n)
        default: throw PluginError(.invalidInput, "\"dimensions\" must be a number")
        }
        let requests = inputs.map { text -> JSONValue in
            var request: [JSONValue.Member] = [
                .init("model", .string(resource)),
                .init("content", .object(["parts": .array([.object(["text": .string(text)])])])),
            ]
            if let dimensions { request.append(.init("outputDimensionality", dimensions)) }
            return .object(request)
        }
        return Request(body: JSONValue.object(["requests": .array(requests)]).serialized(), inputs: inputs)
    }

    /// Converts a 2xx `{"embeddings":[{"values":[...]}]}` answer.
    public static func toOpenAI(_ body: [UInt8], model: String, requestBody: [UInt8]) throws(PluginError) -> GeminiResponse.Converted {
        guard let json = Wire.parse(body), let embeddings = json.gemini("embeddings")?.arrayValue else {
            throw PluginError(.upstream, "Gemini embeddings answer has no \"embeddings\" array")
        }
        let request = Wire.parse(requestBody)
        let base64 = request?["encoding_format"]?.stringValue == "base64"
        var data: [JSONValue] = []
        for (i, embedding) in embeddings.enumerated() {
            guard let values = embedding["values"]?.arrayValue else {
                throw PluginError(.upstream, "Gemini embedding \(i) has no \"values\" array")
            }
            let vector: JSONValue = base64 ? .string(try float32Base64(values)) : .array(values)
            data.append(.object(["object": .string("embedding"), "index": .int(i), "embedding": vector]))
        }
        var usage = GeminiUsage.read(json.gemini("usageMetadata"))
        if usage.prompt == nil {
            let bytes: Int
            switch request?["input"] {
            case .string(let s)?: bytes = s.utf8.count
            case .array(let items)?: bytes = items.reduce(0) { $0 + ($1.stringValue?.utf8.count ?? 0) }
            default: bytes = 0
            }
            usage = PluginUsage(prompt: Int64((bytes + 3) / 4), completion: 0, estimated: true)
        }
        let prompt = usage.prompt ?? 0
        let out = JSONValue.object([
            "object": .string("list"), "data": .array(data), "model": .string(model),
            "usage": TokenUsage.openAIEmbeddingsJSON(promptTokens: prompt),
        ])
        return GeminiResponse.Converted(body: out.serialized(), usage: usage)
    }

    static func float32Base64(_ values: [JSONValue]) throws(PluginError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            guard let number = value.doubleValue else { throw PluginError(.upstream, "Gemini embedding holds a non-number") }
            let bits = Float(number).bitPattern
            bytes += [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8),
                      UInt8(truncatingIfNeeded: bits >> 16), UInt8(truncatingIfNeeded: bits >> 24)]
        }
        return Base64.encode(bytes)
    }
}
