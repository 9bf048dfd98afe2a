/// The configuration used when no file is given: loopback, a SQLite file in ./data, a demo key,
/// the `mock` channel, and a channel per provider whose credentials are in the environment.
public enum EmbeddedDefault {
    public static func config(environment: [String: String]) -> GatewayConfig {
        var config = GatewayConfig()
        config.demoKey = true
        if let dir = environment["TOLLGATE_DATA_DIR"], !dir.isEmpty { config.dataDirectory = dir }
        if let listen = environment["TOLLGATE_LISTEN"], let parsed = try? ConfigLoader.parse("listen: \"\(listen)\"", file: "TOLLGATE_LISTEN").listen {
            config.listen = parsed
        }
        var mock = ChannelConfig(name: "mock", provider: "mock")
        mock.models = ["mock-echo"]
        config.channels = [mock]
        if let key = environment["OPENAI_API_KEY"], !key.isEmpty {
            var openai = ChannelConfig(name: "openai", provider: "openai", baseURL: environment["OPENAI_BASE_URL"],
                                       models: ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "text-embedding-*"])
            openai.credentials["api_key"] = key
            config.channels.append(openai)
        }
        for (variable, provider, models) in pluginProviders where !(environment[variable] ?? "").isEmpty {
            var channel = ChannelConfig(name: provider, provider: provider, models: models)
            channel.credentials["api_key"] = environment[variable]
            config.channels.append(channel)
        }
        return config
    }

    /// Providers served by plugins, added when their key is set and their plugin is loaded.
    static let pluginProviders: [(variable: String, provider: String, models: [String])] = [
        ("ANTHROPIC_API_KEY", "claude", ["claude-*"]),
        ("GEMINI_API_KEY", "gemini", ["gemini-*"]),
    ]
}
