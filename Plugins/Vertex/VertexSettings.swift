import TollgatePluginKit

/// A Vertex channel's settings, checked once when the channel is created so a request never meets
/// a bad value:
///
/// | setting                               | meaning                                                    |
/// |---------------------------------------|------------------------------------------------------------|
/// | `credentials.service_account_json`    | the key file's JSON text (one of these two is required)    |
/// | `credentials.service_account_file`    | a path to the key file, read when the channel is created   |
/// | `options.project`                     | default: the key's `project_id`                            |
/// | `options.location`                    | default `us-central1` (`global` works too)                 |
/// | `options.api_version`                 | else the channel's `api_version`, else `v1`                |
/// | `options.token_uri`                   | overrides the key's `token_uri` (a mock in tests)          |
/// | `options.max_tokens_default`          | `max_tokens` for Claude requests that give none            |
/// | `base_url`                            | overrides `https://{location}-aiplatform.googleapis.com`   |
struct VertexSettings: Sendable {
    static let defaultLocation = "us-central1"
    static let defaultAPIVersion = "v1"

    let account: ServiceAccount
    let urls: VertexURLs
    let maxTokensDefault: Int64?

    init(account: ServiceAccount, urls: VertexURLs, maxTokensDefault: Int64? = nil) {
        self.account = account
        self.urls = urls
        self.maxTokensDefault = maxTokensDefault
    }

    init(_ settings: JSONValue) throws(PluginError) {
        let options = settings["options"]
        let tokenURI = try Self.string(options?["token_uri"], "options.token_uri")
        let inline = try Self.string(settings["credentials"]?["service_account_json"], "credentials.service_account_json")
        let path = try Self.string(settings["credentials"]?["service_account_file"], "credentials.service_account_file")
        let field: String
        let key: [UInt8]
        switch (inline, path) {
        case (let text?, nil):
            field = "credentials.service_account_json"
            key = Array(text.utf8)
        case (nil, let path?):
            field = "credentials.service_account_file"
            key = try KeyFile.read(path, field: field)
        case (.some, .some):
            throw PluginError(.config, "give one of credentials.service_account_json and credentials.service_account_file, not both")
        case (nil, nil):
            throw PluginError(.config, "credentials.service_account_json (the key file's JSON) or credentials.service_account_file is required")
        }
        let account: ServiceAccount
        do { account = try ServiceAccount.parse(key, tokenURIOverride: tokenURI) } catch {
            throw PluginError(.config, "\(field): \(error.message)")
        }
        let project = try Self.string(options?["project"], "options.project") ?? account.projectID
        let location = try Self.string(options?["location"], "options.location") ?? Self.defaultLocation
        let version = try Self.string(options?["api_version"], "options.api_version")
            ?? settings["api_version"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultAPIVersion
        guard version.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") }) else {
            throw PluginError(.config, "api_version \"\(version)\" is not a version name like v1")
        }
        var base: String?
        if let value = settings["base_url"], !value.isNull {
            guard let text = value.stringValue else { throw PluginError(.config, "base_url must be a string") }
            base = text.isEmpty ? nil : text
        }
        let urls: VertexURLs
        do { urls = try VertexURLs(project: project, location: location, apiVersion: version, baseURL: base) } catch {
            throw PluginError(.config, error.message)
        }
        var maxTokens: Int64?
        if let value = options?["max_tokens_default"], !value.isNull {
            // Options arrive as strings from the YAML config; a JSON number is taken too.
            guard let count = value.int64Value ?? value.stringValue.flatMap({ Int64($0) }), count > 0 else {
                throw PluginError(.config, "options.max_tokens_default must be a positive integer")
            }
            maxTokens = count
        }
        self.init(account: account, urls: urls, maxTokensDefault: maxTokens)
    }

    /// A non-empty string, or nil when absent, null or empty; anything else names the field.
    private static func string(_ value: JSONValue?, _ field: String) throws(PluginError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.stringValue else { throw PluginError(.config, "\(field) must be a string") }
        return text.isEmpty ? nil : text
    }
}
