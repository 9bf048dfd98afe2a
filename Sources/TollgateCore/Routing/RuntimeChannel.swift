import Foundation
import NIOHTTP1

/// A configured channel made ready to serve: its patterns compiled and its backend resolved
/// (the built-in passthrough or mock, or a plugin channel handle).
public final class RuntimeChannel: Sendable {
    public enum Backend: Sendable {
        case mock
        /// OpenAI-compatible passthrough: requests go to its `basePath` + `/chat/completions`
        /// etc., with its headers (host, auth, content type) made once per channel.
        case openAI(PassthroughUpstream)
        case plugin(PluginChannel)
        /// A provider described by a JSON template (Templates/).
        case template(TemplateChannel)
    }

    public let config: ChannelConfig
    public let backend: Backend
    let patterns: [ModelPattern]
    /// Breakers, states and adaptive limits of this channel (kept by name across reloads).
    public let health: ChannelHealth
    /// Set when an `openai` channel's base URL is Azure OpenAI's.
    let azure: AzureOpenAI?
    /// Client headers an OpenAI-compatible upstream of this channel gets (an allow-list):
    /// `openai-beta` always; `openai-organization` and `openai-project` only with the channel's
    /// `options.forward_openai_organization: "true"` (they pick the operator's billing account).
    let forwardedClientHeaders: [String]
    /// A stream whose client did not ask for usage asks this channel's upstream for it
    /// (`stream_options.include_usage`, passthrough and OpenAI-speaking templates);
    /// `options.include_usage: "false"` for a server that refuses the member (its streams are
    /// then estimated).
    let asksForStreamUsage: Bool
    public var name: String { config.name }
    /// The price entry found last, for the book it was found in: a channel mostly serves one
    /// model, whose next request then skips the lookups (three hashed names a request).
    private let lastPrice = LastLookup<(book: PriceBook, priced: PriceBook.Priced?)>()

    public convenience init(config: ChannelConfig, backend: Backend, health: ChannelHealth? = nil) {
        self.init(config: config, backend: backend, health: health, azure: nil)
    }

    init(config: ChannelConfig, backend: Backend, health: ChannelHealth?, azure: AzureOpenAI?) {
        self.config = config
        self.backend = backend
        self.health = health ?? HealthTracker().health(for: config.name)
        self.azure = azure
        forwardedClientHeaders = ["openai-beta"]
            + (config.options["forward_openai_organization"] == "true" ? ["openai-organization", "openai-project"] : [])
        asksForStreamUsage = config.options["include_usage"] != "false"
        if case .plugin = backend { self.health.setRefreshesCredentials(true) }
        patterns = config.models.map(ModelPattern.init)
    }

    /// True when a client asking for `model` can be served here.
    public func serves(_ model: String) -> Bool {
        if config.provider == "mock" && config.models.isEmpty { return model.hasPrefix("mock-") }
        return config.modelMap[model] != nil || patterns.contains { $0.matches(model) }
    }

    /// The name sent upstream for a client's model (after `model_map`).
    /// (A successor named by a deprecation notice replaces it.)
    public func upstreamModel(for model: String) -> String {
        let mapped = config.modelMap.isEmpty ? model : mapped(model)
        return health.override(for: mapped) ?? mapped
    }

    /// `model_map`'s name for `model`, the last one remembered: an attempt asks three times
    /// (route, request, bill), and comparing two names costs less than hashing one.
    private func mapped(_ model: String) -> String {
        lastMapping.value(for: model) { config.modelMap[model] ?? model }
    }

    private let lastMapping = LastLookup<String>()

    /// Upstream names of the models the channel names (not patterns), for the health view.
    var configuredUpstreamModels: [String] {
        patterns.filter { !$0.isWildcard }.map(\.text) + config.modelMap.values.sorted()
    }

    /// The API version in force: a deprecation notice's successor, else the configured one.
    var apiVersion: String? { health.apiVersionOverride ?? config.apiVersion }

    /// The API version requests carry (an Azure URL's own `api-version` when none is set).
    var sentAPIVersion: String? {
        apiVersion ?? azure?.apiVersion ?? (azure?.v1 == false ? AzureOpenAI.defaultAPIVersion : nil)
    }

    /// Model names a client can list (wildcard patterns are not names).
    var listedModels: [String] {
        let names = patterns.filter { !$0.isWildcard }.map(\.text) + config.modelMap.keys.sorted()
        return config.provider == "mock" && config.models.isEmpty ? ["mock-echo"] : names
    }

    /// The price entry of `model` (the upstream's name) here, in `book`: `options.price_model`'s,
    /// else the model's under the channel's price prefixes, else the bare model's.
    func price(for model: String, in book: PriceBook) -> PriceBook.Priced? {
        lastPrice.value(for: model, stillGood: { $0.book === book }) {
            (book, config.options["price_model"].flatMap { book.models[$0] } ?? book.find(model: model, prefixes: pricePrefixes))
        }.priced
    }

    /// Price-list prefixes tried before the bare model name: what a plugin declares for its
    /// provider (ABI 1.4), `openai` for the passthrough, none for the mock, else the provider id.
    var pricePrefixes: [String] {
        switch backend {
        case .mock: []
        case .openAI: ["openai"]
        case .plugin(let channel): channel.plugin.providerInfo[config.provider]?.pricePrefixes ?? [config.provider]
        case .template: [config.provider]
        }
    }

    static let defaultOpenAIBase = "https://api.openai.com/v1"

    /// Where an `openai` channel serves the Responses API itself (`/responses` under its base);
    /// nil when requests must be converted to chat: other providers, Azure deployments, and
    /// channels with `options.responses: chat` (OpenAI-compatible servers without the API).
    var ownResponsesPath: String? {
        guard case .openAI = backend, azure == nil, config.options["responses"] != "chat" else { return nil }
        return ClientRoutes.responses
    }

    /// Builds the runtime form of a channel; plugin providers get their channel handle here.
    static func make(_ config: ChannelConfig, factory: AdaptorFactory, health: ChannelHealth? = nil) throws -> RuntimeChannel {
        var config = config
        if let version = health?.apiVersionOverride { config.apiVersion = version }
        switch config.provider {
        case "mock":
            return RuntimeChannel(config: config, backend: .mock, health: health)
        case "openai":
            let base = config.baseURL ?? defaultOpenAIBase
            guard let (endpoint, path) = UpstreamEndpoint.parse(base) else {
                throw config.error("base_url '\(base)' is not a valid http(s) URL")
            }
            let basePath = path.hasSuffix("/") ? String(path.dropLast()) : path
            var headers = HTTPHeaders([("host", endpoint.hostHeader), ("content-type", "application/json"),
                                       ("user-agent", "tollgate/0.1")])
            let azure = AzureOpenAI.detect(host: endpoint.host, path: path, options: config.options)
            if let key = config.credentials["api_key"] {
                // Azure OpenAI takes its key in `api-key`.
                headers.add(name: azure == nil ? "authorization" : "api-key", value: azure == nil ? "Bearer \(key)" : key)
            }
            return RuntimeChannel(config: config, backend: .openAI(PassthroughUpstream(endpoint: endpoint, basePath: basePath, baseHeaders: headers)),
                                  health: health, azure: azure)
        default:
            if let adaptor = factory.templateAdaptor(providerID: config.provider, apiVersion: config.apiVersion ?? "") {
                do { return RuntimeChannel(config: config, backend: .template(try adaptor.makeChannel(config)), health: health) } catch {
                    throw config.error(error.message)
                }
            }
            do {
                let adaptor = try factory.adaptor(providerID: config.provider, apiVersion: config.apiVersion ?? "")
                return RuntimeChannel(config: config, backend: .plugin(try adaptor.makeChannel(settings: config.settingsJSON)),
                                      health: health)
            } catch let error as AdaptorError {
                throw config.error(error.message)
            }
        }
    }
}

extension ChannelConfig {
    public func error(_ message: String) -> ConfigError {
        ConfigError(file: source?.file ?? "config", line: source?.line, column: source?.column,
                    key: "channel '\(name)'", message: message)
    }

    /// The settings object handed to a plugin's `on_channel_new`.
    var settingsJSON: [UInt8] {
        func object(_ map: [String: String]) -> JSONValue {
            .object(map.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, .string($0.value)) })
        }
        var members: [JSONValue.Member] = [.init("name", .string(name)), .init("provider", .string(provider))]
        if let baseURL { members.append(.init("base_url", .string(baseURL))) }
        if let apiVersion { members.append(.init("api_version", .string(apiVersion))) }
        members.append(.init("credentials", object(credentials)))
        members.append(.init("options", object(options)))
        return JSONValue.object(members).serialized()
    }
}
