import GeminiWire
import TollgatePluginKit

/// The Gemini adaptor: Google AI's generateContent API (provider id `gemini`).
final class GeminiPlugin: AdaptorPlugin {
    static let name = "gemini"
    static let version = "1.0.0"
    static let providerIDs = ["gemini"]
    static let providerInfo = ["gemini": ProviderInfo(
        pricePrefixes: ["gemini"], successHeaderPrefixes: [],
        environment: EnvironmentChannel(credentials: ["api_key": ["GEMINI_API_KEY"]], require: ["api_key"], models: ["gemini-*"]))]

    let apiVersion: String

    init(providerID: String, apiVersion: String) throws(PluginError) {
        self.apiVersion = apiVersion
    }

    func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel {
        GeminiChannel(settings: try GeminiSettings(settings, adaptorAPIVersion: apiVersion))
    }
}

/// The descriptor; exported as `tollgate_plugin_entry` by the `GeminiPluginEntry` target, so tests can
/// link this library beside other plugins without clashing symbols.
public func geminiPluginDescriptor() -> UnsafeRawPointer { PluginExport.adaptor(GeminiPlugin.self) }
