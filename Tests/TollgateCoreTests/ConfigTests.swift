import Logging
import NIOCore
import Testing
@testable import TollgateCore

@Suite struct ConfigTests {
    static let valid = """
    listen: 0.0.0.0:9090
    data_dir: /tmp/tg
    admin_key: ${ADMIN}
    plugins: { dir: ./plugins }
    limits: { max_body_bytes: 1024 }
    upstream: { connect_timeout: 500ms, response_timeout: 2m, read_timeout: 30s, idle_timeout: 1h }
    keys:
      - { name: team-a, key: ${TEAM_A_KEY}, models: ["gpt-*", "claude-*"], rpm: 600 }
    channels:
      - name: main
        provider: openai
        base_url: http://127.0.0.1:9/v1
        credentials: { api_key: ${OPENAI:-sk-default} }
        models: [gpt-4o, "gpt-4.1-*"]
        model_map: { gpt-latest: gpt-4o }
        weight: 3
        priority: 1
        region: cn
    """

    @Test func readsEverySetting() throws {
        let config = try ConfigLoader.parse(Self.valid, file: "t.yaml", environment: ["ADMIN": "adm-0123456789abcdef0123456789", "TEAM_A_KEY": "sk-team-a-1234"])
        #expect(config.listen == ListenAddress(host: "0.0.0.0", port: 9090))
        #expect(config.adminKey == "adm-0123456789abcdef0123456789")
        #expect(config.pluginsDirectory == "./plugins")
        #expect(config.limits.maxBodyBytes == 1024)
        #expect(config.upstream.connectTimeout == .milliseconds(500))
        #expect(config.upstream.responseTimeout == .seconds(120))
        #expect(config.upstream.readTimeout == .seconds(30))
        // The deadlines' amounts follow the durations as they are set (and have their defaults before).
        #expect(config.upstream.responseWait == .seconds(120) && config.upstream.readWait == .seconds(30))
        let defaults = UpstreamSettings()
        #expect(defaults.responseTimeout == .seconds(600) && defaults.responseWait == .seconds(600))
        #expect(defaults.readTimeout == .seconds(300) && defaults.readWait == .seconds(300))
        #expect(config.upstream.idleTimeout == .seconds(3600))
        #expect(config.keys[0].key == "sk-team-a-1234")
        #expect(config.keys[0].models == ["gpt-*", "claude-*"])
        let channel = config.channels[0]
        #expect(channel.credentials["api_key"] == "sk-default")
        #expect(channel.modelMap == ["gpt-latest": "gpt-4o"])
        #expect(channel.weight == 3 && channel.priority == 1 && channel.region == "cn")
        #expect(channel.source?.line == 11)
    }

    func error(_ yaml: String, env: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try ConfigLoader.parse(yaml, file: "bad.yaml", environment: env)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("not a ConfigError: \(error)")
            return nil
        }
    }

    @Test func namesFileLineAndKeyOfEachMistake() {
        let unset = error(Self.valid, env: ["ADMIN": "x-0123456789abcdef0123456789"])
        #expect(unset?.description == "bad.yaml:8:26: keys[0].key: environment variable TEAM_A_KEY is not set (write ${TEAM_A_KEY:-default} for a default)")

        let unknown = error("listen: 127.0.0.1:1\nlisten_port: 8\n")
        #expect(unknown?.line == 2)
        #expect(unknown?.key == "listen_port")
        #expect(unknown?.message.hasPrefix("unknown key") == true)

        let badURL = error("channels:\n  - { name: a, provider: openai, base_url: ftp://x, models: [m] }\n")
        #expect(badURL?.description == "bad.yaml:2:44: channels[0].base_url: must be an http:// or https:// URL")

        #expect(error("listen: nowhere\n")?.description == "bad.yaml:1:9: listen: must be host:port, e.g. 127.0.0.1:8080")
        #expect(error("channels:\n  - { name: a, provider: openai }\n")?.message.hasPrefix("needs models") == true)
        #expect(error("channels:\n  - { name: a, provider: mock }\n  - { name: a, provider: mock }\n")?.message == "duplicate channel name 'a'")
        #expect(error("channels:\n  - { name: a, provider: mock, weight: -1 }\n")?.message == "must be between 1 and 10000")
        #expect(error("upstream: { connect_timeout: soon }\n")?.key == "upstream.connect_timeout")
        #expect(error("keys:\n  - { name: a, key: short }\n")?.message == "must be at least 8 characters")
        #expect(error("channels: 5\n")?.message == "must be a list")
        let usage = error("channels:\n  - { name: a, provider: openai, models: [m], options: { include_usage: sometimes } }\n")
        #expect(usage?.key == "channels[0].options" && usage?.message == "include_usage must be true or false")
        #expect(error("channels:\n  - { name: a, provider: openai, models: [m], options: { include_usage: false } }\n") == nil)
    }

    @Test func readsPricingNotifyLedgerAndBudgets() throws {
        let config = try ConfigLoader.parse("""
        pricing: { sync_url: "https://prices.example/p.json", interval: 2h, currency: CNY, files: [./p.json],
                   exchange_rates: { CNY: 7.2 } }
        notify: { webhook: "http://127.0.0.1:9/hook", min_priority: high, per_type_per_hour: 3 }
        ledger: { flush_interval: 1s }
        keys:
          - { name: a, key: sk-aaaaaaaa, budget: { amount: 12.5, currency: CNY, period: weekly } }
          - { name: b, key: sk-bbbbbbbb, budget: { amount: 1 } }
        """, file: "t.yaml")
        #expect(config.pricing.syncURL == "https://prices.example/p.json" && config.pricing.interval == .seconds(7200))
        #expect(config.pricing.currency == "CNY" && config.pricing.files == ["./p.json"])
        #expect(config.pricing.exchangeRates.rates["CNY"]?.nanoPerUSD == 7_200_000_000)
        #expect(config.notify.webhook == "http://127.0.0.1:9/hook" && config.notify.minimumPriority == .high)
        #expect(config.notify.perTypePerHour == 3 && config.ledgerFlushInterval == .seconds(1))
        #expect(config.keys[0].budget == Budget(amountNano: 12_500_000_000, currency: "CNY", period: .weekly))
        #expect(config.keys[1].budget == Budget(amountNano: 1_000_000_000, currency: "USD", period: .monthly))
        #expect(try ConfigLoader.parse("pricing: { sync_url: off }", file: "t").pricing.syncURL == nil)
    }

    @Test func namesEachPricingNotifyAndBudgetMistake() {
        #expect(error("pricing: { sync_url: ftp://x }\n")?.message == "must be an http(s) URL, or off")
        #expect(error("pricing: { interval: 5s }\n")?.message == "must be at least 1m")
        #expect(error("pricing: { currency: dollars }\n")?.key == "pricing.currency")
        #expect(error("pricing: { exchange_rates: { CNY: lots } }\n")?.message.hasPrefix("must be a positive number") == true)
        #expect(error("pricing: { exchange_rates: { yuan: 7 } }\n")?.message == "must be keyed by an ISO 4217 code")
        #expect(error("notify: { webhook: mailto:x }\n")?.key == "notify.webhook")
        #expect(error("notify: { min_priority: loud }\n")?.message == "must be one of low, medium, high, critical")
        #expect(error("keys:\n  - { name: a, key: sk-aaaaaaaa, budget: { amount: -3 } }\n")?.key == "keys[0].budget.amount")
        #expect(error("keys:\n  - { name: a, key: sk-aaaaaaaa, budget: { amount: 3, period: hourly } }\n")?.message
                == "must be one of daily, weekly, monthly, total")
        #expect(error("keys:\n  - { name: a, key: sk-aaaaaaaa, budget: { amount: 3, currency: EUR } }\n")?.message
                == "budget currency EUR needs a rate in pricing.exchange_rates")
        #expect(error("ledger: { flush_interval: never }\n")?.key == "ledger.flush_interval")
    }

    @Test func refusesBrokenYAMLWithItsPosition() {
        let broken = error("listen: 127.0.0.1:1\nchannels:\n  - { name: a\n")
        #expect(broken?.line != nil)
        #expect(broken?.message.hasPrefix("invalid YAML") == true)
        #expect(error("")?.message == "the file is empty")
    }

    @Test func embeddedDefaultServesTheMockAndEnvironmentProviders() {
        let bare = EmbeddedDefault.config(environment: [:])
        #expect(bare.listen.description == "127.0.0.1:8080")
        #expect(bare.demoKey)
        #expect(bare.channels.map(\.provider) == ["mock"])
        let withKeys = EmbeddedDefault.config(environment: ["OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "a", "TOLLGATE_LISTEN": "127.0.0.1:9999"])
        #expect(withKeys.channels.map(\.provider) == ["mock", "openai"], "plugin providers come with their plugins")
        #expect(withKeys.channels[1].credentials["api_key"] == "sk-1")
        #expect(withKeys.listen.port == 9999)
    }

    /// Each plugin declares the variables its providers' channels take (ABI 1.4 descriptor data).
    @Test func pluginsDescribeTheirEnvironmentChannels() throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let registry = PluginRegistry()
        for name in ["bedrock", "claude", "gemini", "vertex"] {
            let report = PluginLoader(logger: logger).load(path: BuildProducts.directory + "/libtollgate-\(name).so", into: registry)
            guard case .loaded = report.status else { Issue.record(Comment(rawValue: report.line)); return }
        }
        func channels(_ environment: [String: String]) -> [ChannelConfig] {
            EmbeddedDefault.pluginChannels(registry.plugins, environment: environment,
                                           existing: EmbeddedDefault.config(environment: environment).channels)
        }
        #expect(channels([:]).isEmpty)
        let keys = channels(["ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g"])
        #expect(Set(keys.map(\.provider)) == ["claude", "gemini"])
        #expect(keys.first { $0.provider == "claude" }?.credentials["api_key"] == "a")
        #expect(keys.first { $0.provider == "claude" }?.models == ["claude-*"])
        let cloud = channels(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "eu-west-1",
                              "GOOGLE_APPLICATION_CREDENTIALS": "/k.json", "GOOGLE_CLOUD_PROJECT": "p", "VERTEX_PROJECT": ""])
        #expect(cloud.map(\.provider).sorted() == ["bedrock", "vertex"])
        let bedrock = try #require(cloud.first { $0.provider == "bedrock" })
        #expect(bedrock.options["region"] == "eu-west-1" && bedrock.credentials["access_key_id"] == "AKID")
        #expect(bedrock.credentials["session_token"] == nil)
        let vertex = try #require(cloud.first { $0.provider == "vertex" })
        #expect(vertex.credentials["service_account_file"] == "/k.json" && vertex.options["project"] == "p" && vertex.priority == 1)
        // Bedrock needs its region too.
        #expect(channels(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"]).isEmpty)
    }
}

@Suite struct TrafficConfigTests {
    @Test func healthRoutingAndKeyLimitsParse() throws {
        let config = try ConfigLoader.parse("""
        routing: { retries: 3 }
        health: { breaker_failures: 7, breaker_cooldown: 45s, probe_interval: 10s, probes: false, adaptive_start: 4, queue_wait: 500ms }
        keys:
          - { name: a, key: sk-aaaaaaaa, rpm: 10, tpm: 1000, concurrency: 2 }
        """, file: "t.yaml")
        #expect(config.routing.retries == 3)
        #expect(config.health.breakerFailures == 7 && config.health.breakerCooldown == .seconds(45))
        #expect(config.health.probeInterval == .seconds(10) && !config.health.probes && config.health.adaptiveStart == 4)
        #expect(config.health.queueWait == .milliseconds(500))
        #expect(config.keys.first?.limits == KeyLimits(rpm: 10, tpm: 1000, concurrency: 2))
    }

    @Test func mistakesNameTheKey() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("health: { breaker_failure: 3 }", file: "t.yaml") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("routing: { retries: -1 }", file: "t.yaml") }
        do {
            _ = try ConfigLoader.parse("health:\n  breaker_failures: 0\n", file: "t.yaml")
            Issue.record("accepted 0")
        } catch let error as ConfigError {
            #expect("\(error)".contains("breaker_failures") && "\(error)".contains("t.yaml:2"))
        } catch {
            Issue.record("\(error)")
        }
    }
}
