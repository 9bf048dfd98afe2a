import Foundation
import TollgatePluginKit

/// The price list bundled with the core (the LiteLLM snapshot), parsed once per test run.
enum LiteLLMPrices {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/TollgateCore/Resources/model_prices_and_context_window.json")

    private static let parsed: Result<JSONValue, any Error> = Result { try JSONParser.parse(Array(Data(contentsOf: url))) }

    static func list() throws -> JSONValue { try parsed.get() }

    static func entry(_ key: String) throws -> JSONValue {
        guard let entry = try list()[key] else { throw PluginError(.config, "\(key) is not in the bundled price list") }
        return entry
    }
}
