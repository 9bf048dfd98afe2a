import GeminiWire
import TollgatePluginKit

/// OpenAI embeddings on Vertex AI's `predict` API for text-embedding models
/// (`publishers/google/models/{model}:predict`): `input` becomes `instances[].content`,
/// `dimensions` `parameters.outputDimensionality`; each prediction's `embeddings.values` comes
/// back as an OpenAI embedding, the summed `statistics.token_count` as its usage.
enum VertexEmbeddings {
    static func predictBody(fromOpenAI body: [UInt8]) throws(PluginError) -> [UInt8] {
        let request = try OpenAIEmbeddingsRequest(body)
        var members: [JSONValue.Member] = [.init("instances", .array(request.texts.map { .object(["content": .string($0)]) }))]
        if let n = request.dimensions { members.append(.init("parameters", .object(["outputDimensionality": .int(n)]))) }
        return JSONValue.object(members).serialized()
    }

    static func toOpenAI(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(response.status) else {
            return PluginConvertedResponse(status: response.status, body: GeminiErrors.openAIBody(status: response.status, body: response.body))
        }
        guard let answer = try? JSONParser.parse(response.body), let predictions = answer["predictions"]?.arrayValue else {
            throw PluginError(.upstream, "Vertex answered HTTP \(response.status) without predictions")
        }
        var tokens: Int64 = 0
        var data: [JSONValue] = []
        for (index, prediction) in predictions.enumerated() {
            guard let values = prediction["embeddings"]?["values"], case .array = values else {
                throw PluginError(.upstream, "Vertex prediction \(index) has no embeddings.values")
            }
            tokens += prediction["embeddings"]?["statistics"]?["token_count"]?.int64Value ?? 0
            data.append(.object(["object": .string("embedding"), "index": .int(index), "embedding": values]))
        }
        let body = JSONValue.object([
            "object": .string("list"), "data": .array(data), "model": .string(response.model),
            "usage": TokenUsage.openAIEmbeddingsJSON(promptTokens: tokens),
        ])
        return PluginConvertedResponse(status: response.status, body: body.serialized(), usage: PluginUsage(prompt: tokens, completion: 0))
    }
}
