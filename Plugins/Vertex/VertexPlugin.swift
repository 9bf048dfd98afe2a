import TollgatePluginKit

/// The Vertex AI adaptor: Claude (Anthropic's publisher endpoints) and Gemini (Google's) on one
/// Google Cloud project, authenticated with a service account's OAuth tokens. Building a request
/// may block on the token exchange, so the core calls `buildRequest` on its blocking pool.
final class VertexPlugin: AdaptorPlugin {
    static let name = "vertex"
    static let version = "1.0.0"
    static let providerIDs = ["vertex"]
    static let buildMayBlock = true

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
