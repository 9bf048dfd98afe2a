import Foundation
@testable import TollgateCore

/// Helpers shared by the template tests: the shipped templates' folder, and reading an OpenAI
/// SSE answer.
enum TemplateSupport {
    static var shippedDirectory: String { BuildProducts.packageRoot + "/adaptor-templates" }

    /// The data of each `data:` event, `[DONE]` included as text.
    static func events(_ body: [UInt8]) throws -> [String] {
        var parser = SSEParser()
        var out: [String] = []
        try parser.feed(body) { event in out.append(String(decoding: event.data, as: UTF8.self)) }
        return out
    }

    /// The text of a stream's content deltas.
    static func streamedText(_ body: [UInt8]) throws -> String {
        try events(body).compactMap { try? JSONParser.parse($0) }
            .compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
    }

    /// An OpenAI-compatible provider: answers chat (complete and SSE) and embeddings. A stream
    /// carries usage in a final `choices: []` chunk when asked (`stream_options.include_usage`),
    /// or, when `alwaysUsage`, on its last chunk as Mistral, Together and Fireworks send it.
    static func openAICompatibleMock(alwaysUsage: Bool = false) async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            let body = request.json
            let usage = #"{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}"#
            if request.uri.contains("/embeddings") {
                respond.json(200, #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],"model":"e","usage":{"prompt_tokens":4,"total_tokens":4}}"#)
            } else if body?["stream"]?.boolValue == true {
                respond.head(200, [("content-type", "text/event-stream")])
                respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}"# + "\n\n")
                let last = alwaysUsage ? #","usage":"# + usage : ""
                respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}]"# + last + "}\n\n")
                if body?["stream_options"]?["include_usage"]?.boolValue == true {
                    respond.chunk(#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":"# + usage + "}\n\n")
                }
                respond.chunk("data: [DONE]\n\n")
                respond.end()
            } else {
                respond.json(200, #"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":"# + usage + "}")
            }
        }
    }
}
