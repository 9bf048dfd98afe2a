import AnthropicWire
import TollgatePluginKit

/// One configured Claude channel. Immutable after creation, so it is safe on every thread.
final class ClaudeChannel: AdaptorChannel {
    let settings: ChannelSettings
    /// Seconds since the epoch, for `created`; the host's clock unless a test fixes it.
    let clock: @Sendable () -> Int64

    init(settings: ChannelSettings, clock: @escaping @Sendable () -> Int64 = { Host.nowUnixNanos / 1_000_000_000 }) {
        self.settings = settings
        self.clock = clock
    }

    func classify(_ answer: PluginAnswer) -> ResponseClassification? {
        AnthropicAnswers.classify(answer, nowMillis: Host.nowUnixNanos / 1_000_000)
    }

    /// Answers are read from their bodies alone (health reads the rate-limit headers in `classify`).
    func readsAnswerHeaders(_ operation: Operation) -> Bool { false }

    /// Anthropic Messages bodies are this provider's own: they go through untouched.
    func accepts(_ dialect: Dialect, model: String) -> Bool { dialect == .anthropic }

    func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        switch request.operation {
        case .chat: break
        case .embeddings: throw PluginError(.unsupported, "Anthropic offers no embeddings API")
        case .countTokens:
            guard request.dialect == .anthropic else { throw PluginError(.unsupported, "token counting takes Anthropic bodies") }
            return PluginUpstreamRequest(url: settings.baseURL + "/v1/messages/count_tokens", headers: headers(request.clientHeaders),
                                         body: try AnthropicWire.settingModel(request.model, in: request.body))
        }
        let body: [UInt8]
        switch request.dialect {
        case .anthropic:
            body = try AnthropicWire.settingModel(request.model, in: request.body)
        case .openAI:
            body = try AnthropicWire.requestBody(fromOpenAI: request.body, model: request.model,
                                                 options: .init(stream: request.stream, maxTokensDefault: settings.maxTokensDefault))
        case .gemini:
            throw PluginError(.unsupported, "the claude plugin does not take Gemini bodies")
        }
        return PluginUpstreamRequest(url: settings.baseURL + "/v1/messages", headers: headers(request.clientHeaders), body: body)
    }

    /// Auth and version are the channel's: a client's `anthropic-version` (SDKs send newer ones)
    /// is not forwarded, the upstream gets the one it is known to accept. `anthropic-beta` flags
    /// are the client's choice and go through.
    func headers(_ client: [(String, String)]) -> [(String, String)] {
        var headers = [("x-api-key", settings.apiKey), ("anthropic-version", settings.anthropicVersion),
                       ("content-type", "application/json")]
        for (name, value) in client where name.lowercased() == "anthropic-beta" { headers.append(("anthropic-beta", value)) }
        return headers
    }

    func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        try AnthropicWire.convertResponse(response, created: clock())
    }

    func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream {
        AnthropicWire.makeStream(params, created: clock())
    }
}
