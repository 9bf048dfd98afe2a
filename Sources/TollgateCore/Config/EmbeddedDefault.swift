/// The configuration used when no file is given: loopback, a SQLite file in ./data, a demo key,
/// the `mock` channel, and a channel per provider whose credentials are in the environment (the
/// core's own `openai`; each plugin declares the variables its providers take).
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
        config.environment = environment  // plugin providers' channels are added once plugins are loaded
        return config
    }

    /// A channel for each loaded plugin's provider whose credentials are in the environment, as the
    /// plugin's descriptor describes it (ABI 1.4), in the order of the provider ids; none for a
    /// provider id that already has a channel of that name.
    static func pluginChannels(_ plugins: [LoadedPlugin], environment: [String: String], existing: [ChannelConfig]) -> [ChannelConfig] {
        var channels: [ChannelConfig] = []
        for plugin in plugins {
            for id in plugin.providerIDs {
                guard let rule = plugin.providerInfo[id]?.environment,
                      !existing.contains(where: { $0.name == id }), !channels.contains(where: { $0.name == id }),
                      let channel = rule.channel(provider: id, environment: environment) else { continue }
                channels.append(channel)
            }
        }
        return channels
    }
}
