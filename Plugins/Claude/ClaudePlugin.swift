import TollgatePluginKit

/// The Claude adaptor: Anthropic's Messages API behind the gateway's OpenAI dialect, and its own
/// dialect passed through untouched for clients that already speak it.
final class ClaudePlugin: AdaptorPlugin {
    static let name = "claude"
    static let version = "1.0.0"
    static let providerIDs = ["claude"]
    static let providerInfo = ["claude": ProviderInfo(
        pricePrefixes: ["anthropic"], forwardHeaders: ["anthropic-beta"], successHeaderPrefixes: ["anthropic-ratelimit-"],
        environment: EnvironmentChannel(credentials: ["api_key": ["ANTHROPIC_API_KEY"]], require: ["api_key"], models: ["claude-*"]))]

    init(providerID: String, apiVersion: String) throws(PluginError) {}

    func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel {
        ClaudeChannel(settings: try ChannelSettings(settings))
    }
}

/// The descriptor; exported as `tollgate_plugin_entry` by the `ClaudePluginEntry` target, so tests can
/// link this library beside other plugins without clashing symbols.
public func claudePluginDescriptor() -> UnsafeRawPointer { PluginExport.adaptor(ClaudePlugin.self) }
