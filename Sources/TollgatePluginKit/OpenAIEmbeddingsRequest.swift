/// An OpenAI embeddings request as a plugin converting it reads it: its texts and `dimensions`.
public struct OpenAIEmbeddingsRequest: Sendable {
    public var texts: [String]
    public var dimensions: Int64?

    public init(_ body: [UInt8]) throws(PluginError) {
        let request: JSONValue
        do { request = try JSONParser.parse(body) } catch { throw PluginError(.invalidInput, "request body is not JSON: \(error)") }
        switch request["input"] {
        case .string(let text)?: texts = [text]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.stringValue != nil }): texts = items.compactMap(\.stringValue)
        default: throw PluginError(.invalidInput, "'input' must be a string or a non-empty array of strings")
        }
        if let value = request["dimensions"], !value.isNull {
            guard let n = value.int64Value, n > 0 else { throw PluginError(.invalidInput, "'dimensions' must be a positive integer") }
            dimensions = n
        }
    }
}
