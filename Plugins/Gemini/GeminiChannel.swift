import GeminiWire
import TollgatePluginKit

/// A configured Gemini channel. Immutable after creation, so shared freely across threads.
final class GeminiChannel: AdaptorChannel {
    let settings: GeminiSettings

    init(settings: GeminiSettings) { self.settings = settings }

    /// A Gemini client's body is Gemini's own: it passes through untouched (the model is in the
    /// URL, not the body), for every model of the channel.
    func accepts(_ dialect: Dialect, model: String) -> Bool { dialect == .gemini }

    func classify(_ answer: PluginAnswer) -> ResponseClassification? { GoogleAnswers.classify(answer) }

    /// An embeddings answer follows the request's `encoding_format`, and estimates its usage from
    /// the request's `input` when Gemini reports none.
    func readsRequestBody(_ operation: Operation) -> Bool { operation == .embeddings }
    /// Answers are read from their bodies alone (health reads headers in `classify`).
    func readsAnswerHeaders(_ operation: Operation) -> Bool { false }

    func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        let urls = settings.urls
        let url: String
        let body: [UInt8]
        switch (request.dialect, request.operation) {
        case (.openAI, .chat):
            body = try GenerateContentRequest.fromOpenAI(request.body)
            url = request.stream ? urls.streamGenerateContent(model: request.model) : urls.generateContent(model: request.model)
        case (.openAI, .embeddings):
            body = try GeminiEmbeddings.fromOpenAI(request.body, resource: GeminiURLs.resource(request.model)).body
            url = urls.batchEmbedContents(model: request.model)
        case (.gemini, .chat):
            body = request.body
            url = request.stream ? urls.streamGenerateContent(model: request.model) : urls.generateContent(model: request.model)
        case (.gemini, .embeddings):
            // The client's method is not passed along; its body tells: batch bodies hold `requests`.
            body = request.body
            let batch = request.body.withUnsafeBytes { RequestScan.member("requests", in: $0) } != nil
            url = batch ? urls.batchEmbedContents(model: request.model) : urls.embedContent(model: request.model)
        case (.gemini, .countTokens):
            body = request.body
            url = urls.method("countTokens", model: request.model)
        case (.openAI, .countTokens):
            body = try GeminiCount.body(fromOpenAI: request.body, resource: GeminiURLs.resource(request.model))
            url = urls.method("countTokens", model: request.model)
        case (.anthropic, _):
            throw PluginError(.unsupported, "the Gemini adaptor does not take Anthropic bodies")
        }
        return PluginUpstreamRequest(url: url, headers: [("x-goog-api-key", settings.apiKey), ("content-type", "application/json")],
                                     body: body)
    }

    func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        let success = (200..<300).contains(response.status)
        if response.dialect == .gemini {
            let usage = success ? GeminiResponse.usage(ofGeminiBody: response.body) : PluginUsage()
            return PluginConvertedResponse(status: response.status, body: response.body, usage: usage)
        }
        guard success else {
            return PluginConvertedResponse(status: response.status, body: GeminiErrors.openAIBody(status: response.status, body: response.body))
        }
        let converted: GeminiResponse.Converted
        switch response.operation {
        case .chat: converted = try GeminiResponse.toOpenAI(response.body, model: response.model, created: Self.now())
        case .embeddings: converted = try GeminiEmbeddings.toOpenAI(response.body, model: response.model, requestBody: response.requestBody)
        case .countTokens: return try .tokenCount(status: response.status, body: response.body, field: "totalTokens")
        }
        return PluginConvertedResponse(status: response.status, body: converted.body, usage: converted.usage)
    }

    func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream {
        if params.dialect == .gemini { return GeminiPassthroughStream() }
        guard params.operation == .chat else { throw PluginError(.unsupported, "embeddings are not streamed") }
        return GeminiChatStream(model: params.model, includeUsage: params.includeUsage, created: Self.now())
    }

    /// Seconds since the Unix epoch, for OpenAI's `created`.
    static func now() -> Int64 { Host.nowUnixNanos / 1_000_000_000 }
}
