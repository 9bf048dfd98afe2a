import GeminiWire
import TollgatePluginKit

/// The Gemini adaptor: Google AI's generateContent API (provider id `gemini`).
final class GeminiPlugin: AdaptorPlugin {
    static let name = "gemini"
    static let version = "1.0.0"
    static let providerIDs = ["gemini"]

    let apiVersion: String

    init(providerID: String, apiVersion: String) throws(PluginError) {
        self.apiVersion = apiVersion
    }

    func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel {
        GeminiChannel(settings: try GeminiSettings(settings, adaptorAPIVersion: apiVersion))
    }
}

@_cdecl("tollgate_plugin_entry")
public func tollgatePluginEntry() -> UnsafeRawPointer { PluginExport.adaptor(GeminiPlugin.self) }
