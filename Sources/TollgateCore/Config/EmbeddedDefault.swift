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
        if let bedrock = bedrockChannel(environment) { config.channels.append(bedrock) }
        if let vertex = vertexChannel(environment) { config.channels.append(vertex) }
        return config
    }

    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (AWS_SESSION_TOKEN optional).
    static func bedrockChannel(_ environment: [String: String]) -> ChannelConfig? {
        guard let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"],
              let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !id.isEmpty, !secret.isEmpty else { return nil }
        var channel = ChannelConfig(name: "bedrock", provider: "bedrock",
                                    models: ["anthropic.*", "amazon.*", "meta.*", "mistral.*", "cohere.*", "us.*", "eu.*", "apac.*"])
        channel.credentials = ["access_key_id": id, "secret_access_key": secret]
        if let token = environment["AWS_SESSION_TOKEN"], !token.isEmpty { channel.credentials["session_token"] = token }
        channel.options["region"] = region
        return channel
    }

    /// GOOGLE_APPLICATION_CREDENTIALS (a service-account key file) with VERTEX_PROJECT (or
    /// GOOGLE_CLOUD_PROJECT; default: the key's project) and VERTEX_LOCATION (or GOOGLE_CLOUD_LOCATION).
    static func vertexChannel(_ environment: [String: String]) -> ChannelConfig? {
        guard let file = environment["GOOGLE_APPLICATION_CREDENTIALS"], !file.isEmpty else { return nil }
        var channel = ChannelConfig(name: "vertex", provider: "vertex", models: ["vertex/*", "gemini-*", "claude-*"])
        channel.credentials["service_account_file"] = file
        if let project = environment["VERTEX_PROJECT"] ?? environment["GOOGLE_CLOUD_PROJECT"] { channel.options["project"] = project }
        if let location = environment["VERTEX_LOCATION"] ?? environment["GOOGLE_CLOUD_LOCATION"] { channel.options["location"] = location }
        channel.priority = 1  // behind direct Gemini/Anthropic keys when both are set
        return channel
    }

    /// Providers served by plugins, added when their key is set and their plugin is loaded.
    static let pluginProviders: [(variable: String, provider: String, models: [String])] = [
        ("ANTHROPIC_API_KEY", "claude", ["claude-*"]),
        ("GEMINI_API_KEY", "gemini", ["gemini-*"]),
    ]
}
