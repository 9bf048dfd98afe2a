import Foundation
import Yams

/// Reads and validates a YAML configuration file.
public enum ConfigLoader {
    public static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfig {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, key: "", message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, key: "", message: "the file is not UTF-8 text")
        }
        return try parse(text, file: file, environment: environment)
    }

    public static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws -> GatewayConfig {
        let (yaml, references) = ConfigNode.liftReferences(text)
        let node: Node
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ConfigError(file: file, key: "", message: "the file is empty")
            }
            node = composed
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw yamlError(error, file: file)
        }
        let root = ConfigNode(node: node, path: "", file: file, environment: environment, references: references)
        return try read(root)
    }

    static func yamlError(_ error: YamlError, file: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, key: "", message: "invalid YAML: \(problem)")
        default:
            return ConfigError(file: file, key: "", message: "invalid YAML: \(error)")
        }
    }

    static func read(_ root: ConfigNode) throws -> GatewayConfig {
        let top = try root.mapping(allowed: ["listen", "data_dir", "storage", "admin_key", "plugins", "templates",
                                             "limits", "upstream", "keys", "channels", "demo_key", "threads"])
        var config = GatewayConfig()
        if let n = top["listen"] { config.listen = try listenAddress(n) }
        if let n = top["data_dir"] { config.dataDirectory = try n.string() }
        if let n = top["storage"] {
            let url = try n.string()
            guard url.hasPrefix("sqlite://") else { throw n.error("must be a sqlite:// URL (PostgreSQL is not supported yet)") }
            config.storage = url
        }
        if let n = top["admin_key"] { config.adminKey = try n.string() }
        if let n = top["demo_key"] { config.demoKey = try n.bool() }
        if let n = top["threads"] { config.threads = try n.int(in: 1...256) }
        if let n = top["plugins"] { config.pluginsDirectory = try directory(n) }
        if let n = top["templates"] { config.templatesDirectory = try directory(n) }
        if let n = top["limits"] { config.limits = try limits(n) }
        if let n = top["upstream"] { config.upstream = try upstream(n) }
        if let n = top["keys"] { config.keys = try n.sequence().map(key) }
        if let n = top["channels"] { config.channels = try n.sequence().map(channel) }
        try checkUnique(config.keys.map(\.name), in: top["keys"], what: "key name")
        try checkUnique(config.channels.map(\.name), in: top["channels"], what: "channel name")
        return config
    }

    static func listenAddress(_ n: ConfigNode) throws -> ListenAddress {
        let text = try n.string()
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { throw n.error("must be host:port, e.g. 127.0.0.1:8080") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw n.error("must be host:port, e.g. 127.0.0.1:8080") }
        return ListenAddress(host: host, port: port)
    }

    static func directory(_ n: ConfigNode) throws -> String {
        let members = try n.mapping(allowed: ["dir"])
        guard let dir = members["dir"] else { throw n.error("needs dir") }
        return try dir.string()
    }

    static func limits(_ n: ConfigNode) throws -> RequestLimits {
        let m = try n.mapping(allowed: ["max_body_bytes", "max_response_bytes"])
        var limits = RequestLimits()
        if let v = m["max_body_bytes"] { limits.maxBodyBytes = try v.int(in: 1...(1 << 30)) }
        if let v = m["max_response_bytes"] { limits.maxResponseBytes = try v.int(in: 1...(1 << 30)) }
        return limits
    }

    static func upstream(_ n: ConfigNode) throws -> UpstreamSettings {
        let m = try n.mapping(allowed: ["connect_timeout", "response_timeout", "read_timeout", "idle_timeout"])
        var settings = UpstreamSettings()
        if let v = m["connect_timeout"] { settings.connectTimeout = try v.duration() }
        if let v = m["response_timeout"] { settings.responseTimeout = try v.duration() }
        if let v = m["read_timeout"] { settings.readTimeout = try v.duration() }
        if let v = m["idle_timeout"] { settings.idleTimeout = try v.duration() }
        return settings
    }

    static func key(_ n: ConfigNode) throws -> KeyConfig {
        let m = try n.mapping(allowed: ["name", "key", "models", "rpm", "tpm", "concurrency"])
        guard let name = m["name"] else { throw n.error("needs name") }
        guard let secret = m["key"] else { throw n.error("needs key") }
        let keyValue = try secret.string()
        guard keyValue.count >= 8 else { throw secret.error("must be at least 8 characters") }
        var key = KeyConfig(name: try name.string(), key: keyValue)
        if let v = m["models"] { key.models = try v.strings() }
        if let v = m["rpm"] { key.rpm = try v.int(in: 1...Int(Int32.max)) }
        if let v = m["tpm"] { key.tpm = try v.int(in: 1...Int(Int32.max)) }
        if let v = m["concurrency"] { key.concurrency = try v.int(in: 1...1_000_000) }
        return key
    }

    static func channel(_ n: ConfigNode) throws -> ChannelConfig {
        let m = try n.mapping(allowed: ["name", "provider", "base_url", "api_version", "credentials", "models",
                                        "model_map", "weight", "priority", "region", "options"])
        guard let name = m["name"] else { throw n.error("needs name") }
        guard let provider = m["provider"] else { throw n.error("needs provider") }
        var channel = ChannelConfig(name: try name.string(), provider: try provider.string())
        channel.source = SourcePosition(file: provider.file, line: provider.node.mark?.line, column: provider.node.mark?.column)
        if let v = m["base_url"] {
            let url = try v.string()
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw v.error("must be an http:// or https:// URL")
            }
            channel.baseURL = url
        }
        if let v = m["api_version"] { channel.apiVersion = try v.string() }
        if let v = m["credentials"] { channel.credentials = try v.stringMap() }
        if let v = m["models"] { channel.models = try v.strings() }
        if let v = m["model_map"] { channel.modelMap = try v.stringMap() }
        if let v = m["weight"] { channel.weight = try v.int(in: 1...10_000) }
        if let v = m["priority"] { channel.priority = try v.int(in: 0...1000) }
        if let v = m["region"] {
            let region = try v.string()
            guard ["cn", "international"].contains(region) else { throw v.error("must be cn or international") }
            channel.region = region
        }
        if let v = m["options"] { channel.options = try v.stringMap() }
        if channel.models.isEmpty && channel.provider != "mock" {
            throw n.error("needs models (the model names or patterns this channel serves)")
        }
        return channel
    }

    static func checkUnique(_ names: [String], in node: ConfigNode?, what: String) throws {
        var seen = Set<String>()
        for (index, name) in names.enumerated() where !seen.insert(name).inserted {
            let item = try node?.sequence()[index]
            throw item?.error("duplicate \(what) '\(name)'") ?? ConfigError(file: "", key: "", message: "duplicate \(what) '\(name)'")
        }
    }
}
