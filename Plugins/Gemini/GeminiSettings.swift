import TollgatePluginKit

/// A Gemini channel's settings: `base_url` (default Google's endpoint), `credentials.api_key`
/// (required), and the API version from `options.api_version`, else the channel's `api_version`,
/// else `v1beta` (the version with every current feature: thinking, function calling, JSON mode).
struct GeminiSettings: Sendable {
    static let defaultBaseURL = "https://generativelanguage.googleapis.com"
    static let defaultAPIVersion = "v1beta"

    let urls: GeminiURLs
    let apiKey: String

    init(_ settings: JSONValue, adaptorAPIVersion: String = "") throws(PluginError) {
        var base = Self.defaultBaseURL
        switch settings["base_url"] {
        case nil, .null?: break
        case .string(let s)? where s.isEmpty: break
        case .string(let s)?:
            guard s.hasPrefix("https://") || s.hasPrefix("http://") else {
                throw PluginError(.config, "base_url \"\(s)\" is not an http(s) URL")
            }
            base = s
        default: throw PluginError(.config, "base_url must be a string")
        }
        guard let key = settings["credentials"]?["api_key"]?.stringValue, !key.isEmpty else {
            throw PluginError(.config, "credentials.api_key is required")
        }
        guard !key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw PluginError(.config, "credentials.api_key holds control characters")
        }
        var version = Self.defaultAPIVersion
        for candidate in [settings["options"]?["api_version"], settings["api_version"], .string(adaptorAPIVersion)] {
            if let text = candidate?.stringValue, !text.isEmpty { version = text; break }
            if let other = candidate, !other.isNull, other.stringValue == nil {
                throw PluginError(.config, "api_version must be a string")
            }
        }
        guard version.utf8.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 < 0x7F }) else {
            throw PluginError(.config, "api_version \"\(version)\" is not a version name like v1beta")
        }
        urls = GeminiURLs(base: base, version: version)
        apiKey = key
    }
}
