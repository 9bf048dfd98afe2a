import Testing
@testable import TollgateCore

/// Gemini `:embedContent` / `:batchEmbedContents` converted for channels without Gemini bodies.
@Suite struct GeminiEmbeddingsTests {
    @Test func convertsSingleAndBatchRequests() throws {
        let single = try GeminiEmbeddingsRequest.toIR(try JSONParser.parse(
            #"{"content":{"parts":[{"text":"a"},{"text":"b"}]},"outputDimensionality":4}"#), model: "m")
        #expect(single == (try JSONParser.parse(#"{"model":"m","input":["a\nb"],"dimensions":4}"#)))
        let batch = try GeminiEmbeddingsRequest.toIR(try JSONParser.parse(
            #"{"requests":[{"model":"models/m","content":{"parts":[{"text":"x"}]}},{"content":{"parts":[{"text":"y"}]}}]}"#), model: "m")
        #expect(batch["input"] == .array([.string("x"), .string("y")]))
    }

    @Test func refusesMalformedRequestsNamingTheField() {
        let cases: [(String, String)] = [
            (#"[]"#, "JSON object"), (#"{}"#, "'content'"), (#"{"requests":[]}"#, "'requests'"),
            (#"{"requests":[{"content":{"parts":[{"text":"x"}]}},{"content":{}}]}"#, "'requests[1].content'"),
            (#"{"content":{"parts":[{"inline_data":{"data":"AAA"}}]}}"#, "'content.parts'"),
            (#"{"content":{"parts":[{"text":"x"}]},"output_dimensionality":-1}"#, "'outputDimensionality'"),
        ]
        for (text, field) in cases {
            do {
                _ = try GeminiEmbeddingsRequest.toIR(try JSONParser.parse(text), model: "m")
                Issue.record("accepted \(text)")
            } catch let error as GatewayError {
                #expect(error.status == 400 && error.message.contains(field), "\(text): \(error.message)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func translatesAnswersAndErrors() throws {
        let answer = Array(#"{"data":[{"index":1,"embedding":[0.5]},{"index":0,"embedding":[0.25]}],"usage":{"prompt_tokens":2}}"#.utf8)
        #expect(try JSONParser.parse(GeminiEmbeddingsTranslator(batch: true).complete(status: 200, body: answer))
                == (try JSONParser.parse(#"{"embeddings":[{"values":[0.25]},{"values":[0.5]}]}"#)))
        #expect(try JSONParser.parse(GeminiEmbeddingsTranslator(batch: false).complete(status: 200, body: answer))
                == (try JSONParser.parse(#"{"embedding":{"values":[0.25]}}"#)))
        let error = try JSONParser.parse(GeminiEmbeddingsTranslator(batch: false).complete(status: 429, body: Array(#"{"error":{"message":"slow"}}"#.utf8)))
        #expect(error["error"]?["status"]?.stringValue == "RESOURCE_EXHAUSTED" && error["error"]?["message"]?.stringValue == "slow")
        let garbage = try JSONParser.parse(GeminiEmbeddingsTranslator(batch: true).complete(status: 200, body: Array("<".utf8)))
        #expect(garbage["error"]?["code"]?.int64Value == 502)
    }
}
