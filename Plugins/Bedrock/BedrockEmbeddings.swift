import TollgatePluginKit

/// OpenAI embeddings on Bedrock's InvokeModel (`/model/{id}/invoke`), whatever the channel's
/// `api`: Amazon Titan Text Embeddings (`amazon.titan-embed-text-*`; one text per request,
/// `inputText`, `dimensions`) and Cohere Embed (`cohere.embed-*`; `texts`, `input_type`
/// `search_document`). Usage comes from Titan's `inputTextTokenCount`, else from Bedrock's
/// `X-Amzn-Bedrock-Input-Token-Count` header.
enum BedrockEmbeddings {
    enum Family { case titan, cohere }

    /// Inference profiles prefix the model id with a region (`us.cohere.embed-v4:0`).
    static func family(of model: String) -> Family? {
        if model.contains("amazon.titan-embed") { return .titan }
        if model.contains("cohere.embed") { return .cohere }
        return nil
    }

    static func body(fromOpenAI body: [UInt8], model: String) throws(PluginError) -> [UInt8] {
        guard let family = family(of: model) else {
            throw PluginError(.unsupported, "Bedrock embeddings serve amazon.titan-embed-* and cohere.embed-* models, not \(model)")
        }
        let request = try OpenAIEmbeddingsRequest(body)
        let inputs = request.texts, dimensions = request.dimensions
        switch family {
        case .titan:
            guard inputs.count == 1 else {
                throw PluginError(.invalidInput, "Titan Text Embeddings take one text per request; 'input' has \(inputs.count)")
            }
            var members: [JSONValue.Member] = [.init("inputText", .string(inputs[0]))]
            if let dimensions { members.append(.init("dimensions", .int(dimensions))) }
            return JSONValue.object(members).serialized()
        case .cohere:
            var members: [JSONValue.Member] = [.init("texts", .array(inputs.map(JSONValue.string))),
                                               .init("input_type", .string("search_document"))]
            if let dimensions { members.append(.init("output_dimension", .int(dimensions))) }
            return JSONValue.object(members).serialized()
        }
    }

    static func toOpenAI(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(response.status) else {
            return PluginConvertedResponse(status: response.status,
                                           body: AWSErrorBody.openAI(status: response.status, headers: response.headers, body: response.body))
        }
        guard let answer = try? JSONParser.parse(response.body) else {
            throw PluginError(.upstream, "Bedrock answered HTTP \(response.status) with a body that is not JSON")
        }
        // Titan answers one `embedding`; Cohere a list, plain or by type (`{"float": [...]}`).
        let vectors: [JSONValue]
        if let single = answer["embedding"], case .array = single {
            vectors = [single]
        } else if let list = (answer["embeddings"]?["float"] ?? answer["embeddings"])?.arrayValue {
            vectors = list
        } else {
            throw PluginError(.upstream, "Bedrock's embeddings answer has neither 'embedding' nor 'embeddings'")
        }
        let header = response.headers.first { $0.0.lowercased() == "x-amzn-bedrock-input-token-count" }.flatMap { Int64($0.1) }
        let tokens = answer["inputTextTokenCount"]?.int64Value ?? header ?? 0
        let data = vectors.enumerated().map { index, vector in
            JSONValue.object(["object": .string("embedding"), "index": .int(index), "embedding": vector])
        }
        let body = JSONValue.object([
            "object": .string("list"), "data": .array(data), "model": .string(response.model),
            "usage": TokenUsage.openAIEmbeddingsJSON(promptTokens: tokens),
        ])
        return PluginConvertedResponse(status: response.status, body: body.serialized(), usage: PluginUsage(prompt: tokens, completion: 0))
    }
}
