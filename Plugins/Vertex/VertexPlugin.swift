import TollgatePluginKit

/// The Vertex AI adaptor: Claude (Anthropic's publisher endpoints) and Gemini (Google's) on one
/// Google Cloud project, authenticated with a service account's OAuth tokens. Building a request
/// may block on the token exchange, so the core calls `buildRequest` on its blocking pool.
final class VertexPlugin: AdaptorPlugin {
    static let name = "vertex"
    static let version = "1.0.0"
    static let providerIDs = ["vertex"]
    static let buildMayBlock = true
    /// GOOGLE_APPLICATION_CREDENTIALS (a service-account key file) with VERTEX_PROJECT (or
    /// GOOGLE_CLOUD_PROJECT; default: the key's project) and VERTEX_LOCATION (or
    /// GOOGLE_CLOUD_LOCATION); behind direct Gemini/Anthropic keys when both are set.
    static let providerInfo = ["vertex": ProviderInfo(
        pricePrefixes: ["vertex_ai"], forwardHeaders: ["anthropic-beta"], successHeaderPrefixes: ["anthropic-ratelimit-"],
        environment: EnvironmentChannel(credentials: ["service_account_file": ["GOOGLE_APPLICATION_CREDENTIALS"]],
                                        options: ["project": ["VERTEX_PROJECT", "GOOGLE_CLOUD_PROJECT"],
                                                  "location": ["VERTEX_LOCATION", "GOOGLE_CLOUD_LOCATION"]],
                                        require: ["service_account_file"], models: ["vertex/*", "gemini-*", "claude-*"], priority: 1))]

    /// Access tokens per service account, shared by every channel of this adaptor, so channels
    /// using one key fetch one token.
    let tokens: TokenCache

    init(providerID: String, apiVersion: String) throws(PluginError) {
        tokens = TokenCache()
    }

    func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel {
        try VertexChannel(settings: try VertexSettings(settings), tokens: tokens)
    }
}

/// The descriptor; exported as `tollgate_plugin_entry` by the `VertexPluginEntry` target, so tests can
/// link this library beside other plugins without clashing symbols.
public func vertexPluginDescriptor() -> UnsafeRawPointer { PluginExport.adaptor(VertexPlugin.self) }
