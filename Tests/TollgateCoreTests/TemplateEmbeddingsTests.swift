import Testing
@testable import TollgateCore

/// A template's own embeddings format (`embeddings`: request edits, vectors, token count).
@Suite struct TemplateEmbeddingsTests {
    static let base = #"{"provider":"acme","base_url":"https://x.test","endpoints":{"embeddings":"/embed"},"embeddings":"#

    func parse(_ mapping: String) throws -> AdaptorTemplate {
        try AdaptorTemplate.parse(Array((Self.base + mapping + "}").utf8), source: "t.json")
    }

    @Test func readsTheMappingAndRefusesABadOneNamingTheField() throws {
        let template = try parse(#"{"request":[{"op":"rename","from":"$.input","to":"$.texts"}],"vectors":"$.embeddings.float","prompt_tokens":"$.meta.tokens"}"#)
        #expect(template.embeddings?.request.count == 1)
        for (mapping, field) in [(#"{}"#, "embeddings.vectors"), (#"{"vectors":"$.a","colour":1}"#, "embeddings.colour"),
                                 (#"{"vectors":"$.a..b"}"#, "embeddings.vectors"), (#"{"vectors":"$.a","request":[{"op":"wrap"}]}"#, "embeddings.request[0].op")] {
            do {
                _ = try parse(mapping)
                Issue.record("accepted \(mapping)")
            } catch let error as TemplateError {
                #expect(error.field == field, "\(mapping): \(error)")
            }
        }
    }

    @Test func buildsAnOpenAIListOrNamesWhatIsMissing() throws {
        let mapping = try #require(try parse(#"{"vectors":"$.embeddings.float","prompt_tokens":"$.meta.tokens"}"#).embeddings)
        let (list, usage) = try mapping.list(from: try JSONParser.parse(#"{"embeddings":{"float":[[0.5],[1]]},"meta":{"tokens":3}}"#), model: "e")
        #expect(usage.prompt == 3 && list["data"]?[1]?["embedding"] == .array([.number("1")]) && list["usage"]?["prompt_tokens"]?.int64Value == 3)
        #expect(throws: JSONPathMiss.self) { try mapping.list(from: try JSONParser.parse(#"{"embeddings":{}}"#), model: "e") }
        #expect(throws: JSONPathMiss.self) { try mapping.list(from: try JSONParser.parse(#"{"embeddings":{"float":"x"}}"#), model: "e") }
    }
}
