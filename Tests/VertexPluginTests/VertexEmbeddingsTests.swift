import Testing
import TollgatePluginKit
@testable import VertexPlugin

@Suite struct VertexEmbeddingsTests {
    @Test func buildsPredictBodies() throws {
        let body = try VertexEmbeddings.predictBody(fromOpenAI: Array(#"{"model":"m","input":["a","b"],"dimensions":8}"#.utf8))
        #expect(try JSONParser.parse(body) == (try JSONParser.parse(
            #"{"instances":[{"content":"a"},{"content":"b"}],"parameters":{"outputDimensionality":8}}"#)))
        for bad in [#"{"input":[]}"#, #"{"input":[3]}"#, #"{"input":"x","dimensions":-1}"#, "nope"] {
            #expect(throws: PluginError.self, "\(bad)") { try VertexEmbeddings.predictBody(fromOpenAI: Array(bad.utf8)) }
        }
    }

    @Test func convertsPredictionsAndErrors() throws {
        let answer = #"{"predictions":[{"embeddings":{"statistics":{"token_count":2},"values":[0.5]}},{"embeddings":{"statistics":{"token_count":3},"values":[1]}}]}"#
        let converted = try VertexEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 200, body: Array(answer.utf8), model: "e"))
        #expect(converted.usage.prompt == 5)
        #expect(try JSONParser.parse(converted.body)["data"]?[1]?["embedding"] == .array([.number("1")]))
        #expect(throws: PluginError.self) {
            try VertexEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 200, body: Array(#"{"predictions":[{}]}"#.utf8), model: "e"))
        }
        let error = try VertexEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 404,
                                                                 body: Array(#"{"error":{"code":404,"message":"no model","status":"NOT_FOUND"}}"#.utf8), model: "e"))
        #expect(error.status == 404 && String(decoding: error.body, as: UTF8.self).contains("no model"))
    }
}
