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
        var config = try parse(text, file: file, environment: environment)
        config.file = file
        return config
    }

    /// `environment` nil: the text is data (admin JSON), its values are taken literally.
    public static func parse(_ text: String, file: String, environment: [String: String]? = [:]) throws -> GatewayConfig {
        let (yaml, references) = environment == nil ? (text, []) : ConfigNode.liftReferences(text)
        let node: Node
        do {
            // Every scalar is read as text (ConfigNode types it), so YAML's tag resolution is not
            // needed; its rules are regular expressions whose first use pages in ICU (~6 MB RSS).
            guard let composed = try Yams.compose(yaml: yaml, .basic) else {
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
                                             "limits", "upstream", "keys", "channels", "demo_key", "threads",
                                             "pricing", "notify", "ledger", "storage_refresh", "request_log", "health", "routing",
                                             "shutdown_grace", "admin", "fallbacks", "context_window_fallbacks", "responses"])
        var config = GatewayConfig()
        if let n = top["listen"] { config.listen = try listenAddress(n) }
        if let n = top["data_dir"] { config.dataDirectory = try n.string() }
        if let n = top["storage"] {
            let url = try n.string()
            guard url.hasPrefix("sqlite://") || url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw n.error("must be a sqlite:// or postgres://user:password@host:port/database URL")
            }
            config.storage = url
        }
        if let n = top["admin_key"] {
            let key = try n.string()
            guard key.count >= 24 else { throw n.error("must be at least 24 characters (e.g. the output of `openssl rand -hex 16`)") }
            config.adminKey = key
        }
        if let n = top["admin"] {
            let m = try n.mapping(allowed: ["listen", "metrics_auth"])
            if let v = m["listen"] { config.admin.listen = try listenAddress(v) }
            if let v = m["metrics_auth"] {
                guard let auth = AdminSettings.MetricsAuth(rawValue: try v.string()) else { throw v.error("must be none or admin_key") }
                guard auth == .none || config.adminKey != nil else { throw v.error("admin_key needs admin_key to be set") }
                config.admin.metricsAuth = auth
            }
        }
        if let n = top["demo_key"] { config.demoKey = try n.bool() }
        if let n = top["threads"] { config.threads = try n.int(in: 1...256) }
        if let n = top["plugins"] {
            config.pluginsDirectory = try directory(n, also: ["watch"])
            config.watchPlugins = try n.mapping(allowed: ["dir", "watch"])["watch"]?.bool() ?? true
        }
        if let n = top["templates"] { config.templatesDirectory = try directory(n) }
        if let n = top["limits"] { config.limits = try limits(n) }
        if let n = top["shutdown_grace"] { config.shutdownGrace = try n.duration() }
        if let n = top["upstream"] { config.upstream = try upstream(n) }
        if let n = top["keys"] { config.keys = try n.sequence().map(key) }
        if let n = top["channels"] { config.channels = try n.sequence().map(channel) }
        if let n = top["fallbacks"] { config.fallbacks = try fallbacks(n) }
        if let n = top["context_window_fallbacks"] { config.contextWindowFallbacks = try fallbacks(n) }
        if let n = top["pricing"] { config.pricing = try pricing(n) }
        if let n = top["notify"] { config.notify = try notify(n) }
        if let n = top["health"] { config.health = try health(n) }
        if let n = top["routing"] {
            let m = try n.mapping(allowed: ["retries"])
            if let v = m["retries"] { config.routing.retries = try v.int(in: 0...20) }
        }
        if let n = top["responses"] {
            let m = try n.mapping(allowed: ["retention"])
            if let v = m["retention"] {
                config.responsesRetention = try v.duration()
                guard config.responsesRetention >= .seconds(1) else { throw v.error("must be at least 1s") }
            }
        }
        if let n = top["ledger"] {
            let m = try n.mapping(allowed: ["flush_interval"])
            if let v = m["flush_interval"] { config.ledgerFlushInterval = try v.duration() }
        }
        if let n = top["storage_refresh"] { config.sharedStateInterval = try n.duration() }
        if let n = top["request_log"] {
            let destination = try n.string()
            config.requestLog = ["", "off"].contains(destination) ? nil : destination
        }
        for (index, key) in config.keys.enumerated() {
            guard let budget = key.budget, config.pricing.exchangeRates.rates[budget.currency] == nil else { continue }
            let node = try top["keys"]?.sequence()[index]
            throw node?.error("budget currency \(budget.currency) needs a rate in pricing.exchange_rates")
                ?? ConfigError(file: root.file, key: "keys", message: "budget currency \(budget.currency) has no exchange rate")
        }
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

    static func directory(_ n: ConfigNode, also: [String] = []) throws -> String {
        let members = try n.mapping(allowed: Set(["dir"] + also))
        guard let dir = members["dir"] else { throw n.error("needs dir") }
        return try dir.string()
    }

    static func limits(_ n: ConfigNode) throws -> RequestLimits {
        let m = try n.mapping(allowed: ["max_body_bytes", "max_response_bytes", "request_timeout", "keep_alive_timeout",
                                        "max_connections", "max_connections_per_ip", "sync_interval", "on_client_disconnect"])
        var limits = RequestLimits()
        if let v = m["max_body_bytes"] { limits.maxBodyBytes = try v.int(in: 1...(1 << 30)) }
        if let v = m["max_response_bytes"] { limits.maxResponseBytes = try v.int(in: 1...(1 << 30)) }
        if let v = m["request_timeout"] { limits.requestTimeout = try positive(v) }
        if let v = m["keep_alive_timeout"] { limits.keepAliveTimeout = try positive(v) }
        if let v = m["max_connections"] { limits.maxConnections = try v.int(in: 1...1_000_000) }
        if let v = m["max_connections_per_ip"] { limits.maxConnectionsPerIP = try v.int(in: 1...1_000_000) }
        if let v = m["sync_interval"] {
            limits.syncInterval = try v.duration()
            guard limits.syncInterval >= .milliseconds(10) else { throw v.error("must be at least 10ms") }
        }
        if let v = m["on_client_disconnect"] {
            guard let mode = ClientDisconnect(rawValue: try v.string()) else { throw v.error("must be cancel or drain") }
            limits.onClientDisconnect = mode
        }
        return limits
    }

    static func positive(_ n: ConfigNode) throws -> Duration {
        let duration = try n.duration()
        guard duration > .zero else { throw n.error("must be longer than 0") }
        return duration
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
        let m = try n.mapping(allowed: ["name", "key", "models", "rpm", "tpm", "concurrency", "budget", "fallbacks", "billing"])
        guard let name = m["name"] else { throw n.error("needs name") }
        guard let secret = m["key"] else { throw n.error("needs key") }
        let keyValue = try secret.string()
        guard keyValue.count >= 8 else { throw secret.error("must be at least 8 characters") }
        var key = KeyConfig(name: try name.string(), key: keyValue)
        key.source = SourcePosition(file: name.file, line: name.node.mark?.line, column: name.node.mark?.column)
        if let v = m["models"] { key.models = try v.strings() }
        if let v = m["rpm"] { key.rpm = try v.int(in: 1...Int(Int32.max)) }
        if let v = m["tpm"] { key.tpm = try v.int(in: 1...Int(Int32.max)) }
        if let v = m["concurrency"] { key.concurrency = try v.int(in: 1...1_000_000) }
        if let v = m["budget"] { key.budget = try budget(v) }
        if let v = m["billing"] { key.billingTier = try billingTier(v) }
        if let v = m["fallbacks"] { key.fallbacks = try fallbacks(v) }
        return key
    }

    /// `{ model: [fallback, ...] }`: each list non-empty, without the model itself.
    static func fallbacks(_ n: ConfigNode) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for (model, node) in try n.mapping(allowed: nil) {
            let list = try node.strings()
            guard !list.isEmpty, !list.contains(model), Set(list).count == list.count, !list.contains(where: \.isEmpty) else {
                throw node.error("must list other models, each once, to try in order")
            }
            out[model] = list
        }
        return out
    }

    /// `billing: { tier: standard | batch }` on a key or a channel.
    static func billingTier(_ n: ConfigNode) throws -> BillingTier {
        let m = try n.mapping(allowed: ["tier"])
        guard let v = m["tier"] else { throw n.error("needs tier (standard or batch)") }
        guard let tier = BillingTier(rawValue: try v.string()) else { throw v.error("must be standard or batch") }
        return tier
    }

    static func budget(_ n: ConfigNode) throws -> Budget {
        let m = try n.mapping(allowed: ["amount", "currency", "period"])
        guard let amount = m["amount"] else { throw n.error("needs amount") }
        guard let nano = Money.parseNano(try amount.string()), nano > 0 else {
            throw amount.error("must be a positive amount with at most 9 decimals, e.g. 50 or 12.5")
        }
        let currency = try m["currency"].map(currencyCode) ?? "USD"
        var period = Budget.Period.monthly
        if let v = m["period"] {
            guard let parsed = Budget.Period(rawValue: try v.string()) else {
                throw v.error("must be one of \(Budget.Period.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            period = parsed
        }
        return Budget(amountNano: nano, currency: currency, period: period)
    }

    static func currencyCode(_ n: ConfigNode) throws -> String {
        let code = try n.string()
        guard code.count == 3, code.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw n.error("must be an ISO 4217 code such as USD or CNY")
        }
        return code
    }

    static func pricing(_ n: ConfigNode) throws -> PricingSettings {
        let m = try n.mapping(allowed: ["sync_url", "interval", "currency", "files", "exchange_rates"])
        var pricing = PricingSettings()
        if let v = m["sync_url"] {
            let url = try v.string()
            if url.isEmpty || url == "off" {
                pricing.syncURL = nil
            } else {
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw v.error("must be an http(s) URL, or off") }
                pricing.syncURL = url
            }
        }
        if let v = m["interval"] {
            pricing.interval = try v.duration()
            guard pricing.interval >= .seconds(60) else { throw v.error("must be at least 1m") }
        }
        if let v = m["currency"] { pricing.currency = try currencyCode(v) }
        if let v = m["files"] { pricing.files = try v.strings() }
        if let v = m["exchange_rates"] {
            for (code, node) in try v.mapping(allowed: nil) {
                guard code.count == 3, code == code.uppercased() else { throw node.error("must be keyed by an ISO 4217 code") }
                guard let rate = Money.parseNano(try node.string()), rate > 0 else {
                    throw node.error("must be a positive number: units of \(code) per 1 USD")
                }
                pricing.exchangeRates.set(code, perUSD: rate, at: unixSeconds())
            }
        }
        return pricing
    }

    static func notify(_ n: ConfigNode) throws -> Notifier.Settings {
        let m = try n.mapping(allowed: ["webhook", "min_priority", "per_type_per_hour"])
        var settings = Notifier.Settings()
        if let v = m["webhook"] {
            let url = try v.string()
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw v.error("must be an http(s) URL") }
            settings.webhook = url
        }
        if let v = m["min_priority"] {
            guard let priority = NotificationEvent.Priority(name: try v.string()) else {
                throw v.error("must be one of low, medium, high, critical")
            }
            settings.minimumPriority = priority
        }
        if let v = m["per_type_per_hour"] { settings.perTypePerHour = try v.int(in: 1...10_000) }
        return settings
    }

    static func health(_ n: ConfigNode) throws -> HealthSettings {
        let m = try n.mapping(allowed: ["breaker_failures", "breaker_cooldown", "probe_interval", "probes", "retry_after_default",
                                        "adaptive_start", "adaptive_step", "adaptive_successes", "adaptive_max",
                                        "adaptive_cooldown", "queue_wait", "auto_switch"])
        var settings = HealthSettings()
        if let v = m["breaker_failures"] { settings.breakerFailures = try v.int(in: 1...10_000) }
        if let v = m["breaker_cooldown"] { settings.breakerCooldown = try v.duration() }
        if let v = m["probe_interval"] { settings.probeInterval = try v.duration() }
        if let v = m["probes"] { settings.probes = try v.bool() }
        if let v = m["retry_after_default"] { settings.retryAfterDefault = try v.duration() }
        if let v = m["adaptive_start"] { settings.adaptiveStart = try v.int(in: 1...100_000) }
        if let v = m["adaptive_step"] { settings.adaptiveStep = try v.int(in: 0...100_000) }
        if let v = m["adaptive_successes"] { settings.adaptiveSuccesses = try v.int(in: 1...100_000) }
        if let v = m["adaptive_max"] { settings.adaptiveMax = try v.int(in: 1...1_000_000) }
        if let v = m["adaptive_cooldown"] { settings.adaptiveCooldown = try v.duration() }
        if let v = m["queue_wait"] { settings.queueWait = try v.duration() }
        if let v = m["auto_switch"] { settings.autoSwitch = try v.bool() }
        settings.adaptiveStart = min(settings.adaptiveStart, settings.adaptiveMax)
        return settings
    }

    static func channel(_ n: ConfigNode) throws -> ChannelConfig {
        let m = try n.mapping(allowed: ["name", "provider", "base_url", "api_version", "credentials", "models",
                                        "model_map", "weight", "priority", "region", "options", "enabled", "billing"])
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
        if let v = m["options"] {
            channel.options = try v.stringMap()
            if let flag = channel.options["include_usage"], flag != "true" && flag != "false" {
                throw v.error("include_usage must be true or false")
            }
        }
        if let v = m["enabled"] { channel.enabled = try v.bool() }
        if let v = m["billing"] { channel.billingTier = try billingTier(v) }
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
