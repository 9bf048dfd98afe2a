import Testing
import TollgatePluginKit
@testable import BedrockPlugin

@Suite struct BedrockEmbeddingsTests {
    func body(_ json: String, model: String) throws -> JSONValue {
        try JSONParser.parse(try BedrockEmbeddings.body(fromOpenAI: Array(json.utf8), model: model))
    }

    @Test func buildsTitanAndCohereBodies() throws {
        #expect(try body(#"{"model":"m","input":"hi","dimensions":256}"#, model: "amazon.titan-embed-text-v2:0")
                == (try JSONParser.parse(#"{"inputText":"hi","dimensions":256}"#)))
        #expect(try body(#"{"model":"m","input":["a","b"]}"#, model: "us.cohere.embed-v4:0")
                == (try JSONParser.parse(#"{"texts":["a","b"],"input_type":"search_document"}"#)))
    }

    @Test func refusesWhatTheModelsCannotTake() {
        let cases: [(String, String)] = [
            (#"{"input":["a","b"]}"#, "amazon.titan-embed-text-v2:0"), (#"{"input":[]}"#, "cohere.embed-english-v3"),
            (#"{"input":[1]}"#, "cohere.embed-english-v3"), (#"{"input":"x","dimensions":0}"#, "amazon.titan-embed-text-v2:0"),
            (#"{"input":"x"}"#, "meta.llama3-8b"), ("not json", "cohere.embed-english-v3"),
        ]
        for (json, model) in cases {
            #expect(throws: PluginError.self, "\(model) \(json)") { try BedrockEmbeddings.body(fromOpenAI: Array(json.utf8), model: model) }
        }
    }

    @Test func convertsAnswersWithTheirTokenCounts() throws {
        let titan = try BedrockEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 200,
                                                                  body: Array(#"{"embedding":[0.5],"inputTextTokenCount":4}"#.utf8), model: "t"))
        #expect(titan.usage.prompt == 4)
        #expect(try JSONParser.parse(titan.body)["data"]?[0]?["embedding"] == .array([.number("0.5")]))
        let cohere = try BedrockEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 200,
                                                                   headers: [("X-Amzn-Bedrock-Input-Token-Count", "6")],
                                                                   body: Array(#"{"embeddings":{"float":[[1],[2]]}}"#.utf8), model: "c"))
        #expect(cohere.usage.prompt == 6)
        #expect(try JSONParser.parse(cohere.body)["data"]?.arrayValue?.count == 2)
        #expect(throws: PluginError.self) {
            try BedrockEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 200, body: Array(#"{"x":1}"#.utf8), model: "c"))
        }
        let error = try BedrockEmbeddings.toOpenAI(PluginResponse(operation: .embeddings, status: 400,
                                                                  body: Array(#"{"message":"bad dims"}"#.utf8), model: "t"))
        #expect(error.status == 400 && String(decoding: error.body, as: UTF8.self).contains("bad dims"))
    }
}
