import AnthropicWire
import GeminiWire
import TollgatePluginKit

/// One configured Vertex channel: Claude models through Anthropic's publisher endpoints
/// (`rawPredict`, `streamRawPredict`, Anthropic bodies), every other model through Google's
/// (`generateContent`, `streamGenerateContent?alt=sse`, Gemini bodies). Immutable after creation
/// but for the shared token cache, which guards itself, so it is safe on every thread.
final class VertexChannel: AdaptorChannel {
    let settings: VertexSettings
    let signer: JWTSigner
    let tokens: TokenCache
    /// Seconds since the epoch, for `created`; the host's clock unless a test fixes it.
    let clock: @Sendable () -> Int64

    /// Parses the account's private key now, so a bad key fails when the channel is created.
    init(settings: VertexSettings, tokens: TokenCache,
         clock: @escaping @Sendable () -> Int64 = { Host.nowUnixNanos / 1_000_000_000 }) throws(PluginError) {
        self.settings = settings
        do { signer = try JWTSigner(account: settings.account) } catch {
            throw PluginError(error.kind, "service account key: \(error.message)")
        }
        self.tokens = tokens
        self.clock = clock
    }

    /// Which publisher serves a model: Anthropic for Claude models (`claude-sonnet-4-5@20250929`),
    /// Google for the rest.
    static func publisher(of model: String) -> VertexURLs.Publisher {
        model.lowercased().hasPrefix("claude") ? .anthropic : .google
    }

    /// Claude's publisher answers in Anthropic's shape, Google's (and Vertex itself) in Google's.
    func classify(_ answer: PluginAnswer) -> ResponseClassification? {
        if Self.publisher(of: answer.model) == .anthropic && ((200..<300).contains(answer.status) || AnthropicAnswers.isAnthropicError(answer.body)) {
            return AnthropicAnswers.classify(answer, nowMillis: Host.nowUnixNanos / 1_000_000)
        }
        return GoogleAnswers.classify(answer)
    }

    /// Answers are read from their bodies alone (health reads headers in `classify`).
    func readsAnswerHeaders(_ operation: Operation) -> Bool { false }

    /// A client's own dialect goes through when it is the model's publisher's: Anthropic Messages
    /// for Claude models, Gemini for Google's.
    func accepts(_ dialect: Dialect, model: String) -> Bool {
        switch dialect {
        case .anthropic: Self.publisher(of: model) == .anthropic
        case .gemini: Self.publisher(of: model) == .google
        case .openAI: false
        }
    }

    func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        let urls = settings.urls
        switch request.operation {
        case .chat: break
        case .countTokens:
            let url: String
            let body: [UInt8]
            switch (Self.publisher(of: request.model), request.dialect) {
            case (.anthropic, .anthropic):
                // Anthropic's counter on Vertex: one endpoint for every Claude model, named in the body.
                let platform = try AnthropicWire.platformBody(request.body, anthropicVersion: AnthropicWire.vertexVersion)
                url = urls.model("count-tokens", publisher: .anthropic, method: "rawPredict")
                body = try AnthropicWire.settingModel(request.model, in: platform)
            case (.google, .gemini):
                url = urls.model(request.model, publisher: .google, method: "countTokens")
                body = try GeminiCount.vertexBody(fromGemini: request.body)
            case (.google, .openAI):
                url = urls.model(request.model, publisher: .google, method: "countTokens")
                body = try GeminiCount.vertexBody(fromOpenAI: request.body)
            case (.anthropic, _), (.google, .anthropic):
                throw PluginError(.unsupported, "Vertex counts Claude models in Anthropic bodies, Google's in Gemini or chat bodies")
            }
            let token = try tokens.token(for: signer)
            return PluginUpstreamRequest(url: url, headers: [("authorization", token.authorization), ("content-type", "application/json")],
                                         body: body)
        case .embeddings:
            guard request.dialect == .openAI, Self.publisher(of: request.model) == .google else {
                throw PluginError(.unsupported, "Vertex embeddings take OpenAI embeddings bodies for Google's text-embedding models")
            }
            let token = try tokens.token(for: signer)
            return PluginUpstreamRequest(url: urls.model(request.model, publisher: .google, method: "predict"),
                                         headers: [("authorization", token.authorization), ("content-type", "application/json")],
                                         body: try VertexEmbeddings.predictBody(fromOpenAI: request.body))
        }
        let url: String
        let body: [UInt8]
        var headers: [(String, String)] = []
        switch (Self.publisher(of: request.model), request.dialect) {
        case (.anthropic, .openAI):
            body = try AnthropicWire.requestBody(fromOpenAI: request.body, model: request.model,
                                                 options: .init(stream: request.stream, maxTokensDefault: settings.maxTokensDefault,
                                                                platformVersion: AnthropicWire.vertexVersion))
        case (.anthropic, .anthropic):
            // The one edit a passthrough needs: the model is in the URL, the version in the body.
            body = try AnthropicWire.platformBody(request.body, anthropicVersion: AnthropicWire.vertexVersion)
        case (.google, .openAI):
            body = try GenerateContentRequest.fromOpenAI(request.body)
        case (.google, .gemini):
            body = request.body
        case (.anthropic, .gemini), (.google, .anthropic):
            throw PluginError(.unsupported, "model \(request.model) does not take a \(request.dialect) body on Vertex")
        }
        switch Self.publisher(of: request.model) {
        case .anthropic:
            url = request.stream ? urls.streamRawPredict(model: request.model) : urls.rawPredict(model: request.model)
            // Beta flags are the client's choice; Anthropic on Vertex reads them from this header.
            for (name, value) in request.clientHeaders where name.lowercased() == "anthropic-beta" { headers.append(("anthropic-beta", value)) }
        case .google:
            url = request.stream ? urls.streamGenerateContent(model: request.model) : urls.generateContent(model: request.model)
        }
        // Blocks on the first request (or a refresh): this plugin's builds run on the blocking pool.
        let token = try tokens.token(for: signer)
        headers = [("authorization", token.authorization), ("content-type", "application/json")] + headers
        return PluginUpstreamRequest(url: url, headers: headers, body: body)
    }

    func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        // A refused token (revoked, or the clock was off) is not reused: the next request fetches anew.
        if response.status == 401 { tokens.invalidate(signer) }
        let success = (200..<300).contains(response.status)
        if response.operation == .embeddings { return try VertexEmbeddings.toOpenAI(response) }
        if response.operation == .countTokens, response.dialect == .openAI {
            // Only Google's models are counted in the internal form (`{"totalTokens": N}`).
            guard success else {
                return PluginConvertedResponse(status: response.status, body: GeminiErrors.openAIBody(status: response.status, body: response.body))
            }
            return try .tokenCount(status: response.status, body: response.body, field: "totalTokens")
        }
        switch response.dialect {
        case .anthropic:
            return try AnthropicWire.passthroughResponse(response)
        case .gemini:
            return PluginConvertedResponse(status: response.status, body: response.body,
                                           usage: success ? GeminiResponse.usage(ofGeminiBody: response.body) : PluginUsage())
        case .openAI:
            // The answer does not say which model served it (the client's name may be an alias), so
            // its shape tells; the client's model name decides a body of no known shape.
            let publisher = PublisherSniff.answer(response.body) ?? Self.publisher(of: response.model)
            switch publisher {
            case .anthropic:
                return try AnthropicWire.convertResponse(response, created: clock())
            case .google:
                guard success else {
                    return PluginConvertedResponse(status: response.status, body: GeminiErrors.openAIBody(status: response.status, body: response.body))
                }
                let converted = try GeminiResponse.toOpenAI(response.body, model: response.model, created: clock())
                return PluginConvertedResponse(status: response.status, body: converted.body, usage: converted.usage)
            }
        }
    }

    func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream {
        switch params.dialect {
        case .anthropic: return AnthropicWire.makePassthroughStream()
        case .gemini: return GeminiPassthroughStream()
        case .openAI:
            let created = clock()
            return PublisherSniffingStream(fallback: Self.publisher(of: params.model)) { publisher in
                switch publisher {
                case .anthropic: AnthropicWire.makeStream(model: params.model, includeUsage: params.includeUsage, created: created)
                case .google: GeminiChatStream(model: params.model, includeUsage: params.includeUsage, created: created)
                }
            }
        }
    }
}
