import TollgatePluginKit

/// A Claude channel's settings, checked once when the channel is created so a request never
/// meets a bad value.
struct ChannelSettings: Sendable, Equatable {
    static let defaultBaseURL = "https://api.anthropic.com"
    static let defaultAnthropicVersion = "2023-06-01"

    /// Without a trailing slash or `/v1` (the Anthropic SDKs' base URL has none; a pasted
    /// `https://api.anthropic.com/v1` would otherwise become `/v1/v1/messages`).
    var baseURL: String
    var apiKey: String
    /// The `anthropic-version` sent upstream, whatever a client sent.
    var anthropicVersion: String
    /// `max_tokens` for requests that give none (Anthropic requires it); nil: the model table.
    var maxTokensDefault: Int64?

    init(baseURL: String = Self.defaultBaseURL, apiKey: String, anthropicVersion: String = Self.defaultAnthropicVersion,
         maxTokensDefault: Int64? = nil) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.anthropicVersion = anthropicVersion
        self.maxTokensDefault = maxTokensDefault
    }

    /// Reads `{"base_url", "api_version", "credentials": {"api_key"}, "options":
    /// {"anthropic_version", "max_tokens_default"}}`; a bad value is a config error naming it.
    /// `anthropic_version` falls back to the channel's `api_version`, then to 2023-06-01.
    init(_ settings: JSONValue) throws(PluginError) {
        var base = Self.defaultBaseURL
        if let value = settings["base_url"], !value.isNull {
            guard let text = value.stringValue, text.hasPrefix("http://") || text.hasPrefix("https://") else {
                throw PluginError(.config, "base_url must be an http:// or https:// URL")
            }
            base = text
        }
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/v1") { base.removeLast(3) }
        guard let key = settings["credentials"]?["api_key"]?.stringValue, !key.isEmpty else {
            throw PluginError(.config, "credentials.api_key is required")
        }
        var version = Self.defaultAnthropicVersion
        if let value = settings["options"]?["anthropic_version"] {
            guard let text = value.stringValue, !text.isEmpty else {
                throw PluginError(.config, "options.anthropic_version must be a non-empty string")
            }
            version = text
        } else if let text = settings["api_version"]?.stringValue, !text.isEmpty {
            version = text
        }
        var maxTokens: Int64?
        if let value = settings["options"]?["max_tokens_default"] {
            // Options arrive as strings from the YAML config; a JSON number is taken too.
            guard let count = value.int64Value ?? value.stringValue.flatMap({ Int64($0) }), count > 0 else {
                throw PluginError(.config, "options.max_tokens_default must be a positive integer")
            }
            maxTokens = count
        }
        self.init(baseURL: base, apiKey: key, anthropicVersion: version, maxTokensDefault: maxTokens)
    }
}
