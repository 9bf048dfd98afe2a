/// What an adaptor plugin says about one of its provider ids (descriptor data, ABI 1.4), so the
/// core holds no provider's names: price-list prefixes, the client headers its requests may carry,
/// and the channel the embedded default adds from the environment.
public struct PluginProviderInfo: Sendable, Equatable {
    public var pricePrefixes: [String] = []
    public var forwardHeaders: [String] = []
    public var environment: EnvironmentChannelRule?
    /// Header-name prefixes (lower-case) `on_classify_response` reads on a 2xx answer; nil when
    /// not declared (then it is asked about every answer).
    public var successHeaderPrefixes: [String]?

    /// Headers that carry a client's credentials or identity: never forwarded, whatever a plugin asks.
    static let neverForwarded: Set<String> = ["authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key",
                                              "cookie", "host", "content-length", "transfer-encoding", "connection"]
    static let maxJSONBytes = 64 * 1024

    /// Parses a descriptor's `provider_info_json`; every member must name one of `providerIDs`.
    static func parse(_ text: String, providerIDs: [String]) throws(PluginLoader.Refusal) -> [String: PluginProviderInfo] {
        func refuse(_ why: String) -> PluginLoader.Refusal { PluginLoader.Refusal(reason: "provider_info_json: \(why)") }
        guard let json = try? JSONParser.parse(Array(text.utf8)), let members = json.objectValue else {
            throw refuse("not a JSON object")
        }
        var infos: [String: PluginProviderInfo] = [:]
        for member in members {
            guard providerIDs.contains(member.key) else { throw refuse("'\(member.key)' is not one of the plugin's provider ids") }
            guard member.value.objectValue != nil else { throw refuse("'\(member.key)' is not an object") }
            var info = PluginProviderInfo()
            info.pricePrefixes = try names(member.value["price_prefixes"], "\(member.key).price_prefixes", refuse)
            info.forwardHeaders = try names(member.value["forward_headers"], "\(member.key).forward_headers", refuse).map { $0.lowercased() }
            if let bad = info.forwardHeaders.first(where: { neverForwarded.contains($0) || !$0.utf8.allSatisfy(isTokenByte) }) {
                throw refuse("\(member.key).forward_headers: '\(bad)' may not be forwarded")
            }
            if let prefixes = member.value["success_header_prefixes"] {
                info.successHeaderPrefixes = try names(prefixes, "\(member.key).success_header_prefixes", refuse).map { $0.lowercased() }
            }
            if let environment = member.value["environment"] {
                info.environment = try EnvironmentChannelRule(environment, path: "\(member.key).environment", refuse)
            }
            infos[member.key] = info
        }
        return infos
    }

    /// A list of non-empty strings (absent: empty).
    static func names(_ value: JSONValue?, _ path: String, _ refuse: (String) -> PluginLoader.Refusal) throws(PluginLoader.Refusal) -> [String] {
        guard let value else { return [] }
        guard let items = value.arrayValue, items.count <= 64 else { throw refuse("\(path) is not a list of at most 64 names") }
        var out: [String] = []
        for item in items {
            guard let name = item.stringValue, !name.isEmpty, name.utf8.count <= 256 else { throw refuse("\(path) holds a non-name") }
            out.append(name)
        }
        return out
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F || b == 0x2E
    }
}

/// The channel a plugin's provider gets in the embedded default: each credential and option takes
/// the first non-empty variable of its list; the channel is added when every `require`d one is set.
public struct EnvironmentChannelRule: Sendable, Equatable {
    /// A setting and the variables it is taken from, in order.
    struct Source: Sendable, Equatable {
        var name: String
        var variables: [String]
    }
    var credentials: [Source]
    var options: [Source]
    var require: [String]
    var models: [String]
    var priority: Int

    init(_ json: JSONValue, path: String, _ refuse: (String) -> PluginLoader.Refusal) throws(PluginLoader.Refusal) {
        func table(_ key: String) throws(PluginLoader.Refusal) -> [Source] {
            guard let value = json[key] else { return [] }
            guard let members = value.objectValue else { throw refuse("\(path).\(key) is not an object") }
            var out: [Source] = []
            for member in members {
                out.append(Source(name: member.key, variables: try PluginProviderInfo.names(member.value, "\(path).\(key).\(member.key)", refuse)))
            }
            return out
        }
        guard json.objectValue != nil else { throw refuse("\(path) is not an object") }
        credentials = try table("credentials")
        options = try table("options")
        require = try PluginProviderInfo.names(json["require"], "\(path).require", refuse)
        models = try PluginProviderInfo.names(json["models"], "\(path).models", refuse)
        let known = Set(credentials.map(\.name) + options.map(\.name))
        if let unknown = require.first(where: { !known.contains($0) }) { throw refuse("\(path).require names unknown '\(unknown)'") }
        guard !require.isEmpty else { throw refuse("\(path).require is empty (the channel would always be added)") }
        if let value = json["priority"] {
            guard let number = value.int64Value, (0...1000).contains(number) else { throw refuse("\(path).priority is not 0...1000") }
            priority = Int(number)
        } else {
            priority = 0
        }
    }

    /// The channel for `provider`, or nil when a required variable is unset.
    func channel(provider: String, environment: [String: String]) -> ChannelConfig? {
        func pick(_ variables: [String]) -> String? { variables.lazy.compactMap { environment[$0] }.first { !$0.isEmpty } }
        var channel = ChannelConfig(name: provider, provider: provider, models: models)
        for source in credentials { if let value = pick(source.variables) { channel.credentials[source.name] = value } }
        for source in options { if let value = pick(source.variables) { channel.options[source.name] = value } }
        guard require.allSatisfy({ channel.credentials[$0] != nil || channel.options[$0] != nil }) else { return nil }
        channel.priority = priority
        return channel
    }
}
