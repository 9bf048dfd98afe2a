import TollgatePluginKit

/// The AWS adaptor plugin: one shared object serving two providers.
///
/// - `bedrock`: the Bedrock Runtime Converse API (`/model/{id}/converse`, `/converse-stream`) for
///   any model; OpenAI chat bodies are converted to Converse and answers (JSON or event-stream
///   frames) back to OpenAI. With `options.api: invoke`, InvokeModel (`/model/{id}/invoke`,
///   `/invoke-with-response-stream`) with Anthropic bodies for Anthropic models (`InvokeModel`).
/// - `sagemaker`: SageMaker Runtime endpoint invocations (`/endpoints/{name}/invocations`,
///   `/invocations-response-stream`); the body is the model container's own and passes through.
///
/// Both sign every request with SigV4 (service `bedrock` or `sagemaker`).
public final class BedrockAdaptor: AdaptorPlugin {
    public static let name = "bedrock"
    public static let version = "1.0.0"
    public static let providerIDs = [AWSProvider.bedrock.rawValue, AWSProvider.sagemaker.rawValue]
    /// LiteLLM prices Bedrock under `bedrock/` and `bedrock_converse/`. The embedded default's
    /// Bedrock channel: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION (or
    /// AWS_DEFAULT_REGION), AWS_SESSION_TOKEN optional.
    public static let providerInfo = [
        "bedrock": ProviderInfo(
            pricePrefixes: ["bedrock", "bedrock_converse"], forwardHeaders: ["anthropic-beta"], successHeaderPrefixes: [],
            environment: EnvironmentChannel(
                credentials: ["access_key_id": ["AWS_ACCESS_KEY_ID"], "secret_access_key": ["AWS_SECRET_ACCESS_KEY"],
                              "session_token": ["AWS_SESSION_TOKEN"]],
                options: ["region": ["AWS_REGION", "AWS_DEFAULT_REGION"]],
                require: ["access_key_id", "secret_access_key", "region"],
                models: ["anthropic.*", "amazon.*", "meta.*", "mistral.*", "cohere.*", "us.*", "eu.*", "apac.*"])),
        "sagemaker": ProviderInfo(pricePrefixes: ["sagemaker"], successHeaderPrefixes: []),
    ]

    public let provider: AWSProvider

    public init(providerID: String, apiVersion: String) throws(PluginError) {
        guard let provider = AWSProvider(rawValue: providerID) else {
            throw PluginError(.config, "provider \"\(providerID)\" is not served by the bedrock plugin (bedrock, sagemaker)")
        }
        self.provider = provider
    }

    public func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel {
        let parsed = try AWSChannelSettings(settings, provider: provider)
        switch provider {
        case .bedrock: return BedrockChannel(parsed)
        case .sagemaker: return SageMakerChannel(parsed)
        }
    }
}

/// The descriptor; exported as `tollgate_plugin_entry` by the `BedrockPluginEntry` target, so tests can
/// link this library beside other plugins without clashing symbols.
public func bedrockPluginDescriptor() -> UnsafeRawPointer { PluginExport.adaptor(BedrockAdaptor.self) }

public enum AWSProvider: String, Sendable {
    case bedrock, sagemaker

    /// The SigV4 service name.
    var service: String {
        switch self {
        case .bedrock: BedrockRuntime.service
        case .sagemaker: SageMakerRuntime.service
        }
    }
}

/// A channel's settings, checked once when the channel is created.
///
///     credentials: { access_key_id, secret_access_key, session_token? }
///     options:     { region, usage_path?, usage_completion_path?, include_usage? }   (sagemaker)
///                  { api?: converse | invoke, max_tokens_default? }     (bedrock)
///     base_url:    overrides the regional endpoint (a VPC endpoint, a proxy, a test mock)
///
/// `options.region` is required unless `base_url` is set; with a `base_url` and no region, the
/// region is read from an AWS host name (`bedrock-runtime.{region}.…`, `runtime.sagemaker.{region}.…`)
/// or else `us-east-1`: it only names the signing scope, the host signed is the base URL's.
public struct AWSChannelSettings: Sendable {
    public var provider: AWSProvider
    public var signer: SigV4Signer
    /// Scheme, host, port and optional path prefix, without a trailing `/`.
    public var baseURL: String
    /// The `Host` header value the signature covers.
    public var hostHeader: String
    /// SageMaker: where the container's answer reports prompt and completion tokens.
    public var usagePromptPath: UsagePath?
    public var usageCompletionPath: UsagePath?
    /// SageMaker: a chat stream asks the container for usage (`stream_options.include_usage`)
    /// when its client did not; false for a container that refuses the member.
    public var includeUsage = true
    /// Bedrock: Converse (default) or InvokeModel with Anthropic bodies.
    public var api: BedrockAPI = .converse
    /// Bedrock InvokeModel: `max_tokens` for OpenAI requests that give none (nil: the model's ceiling).
    public var maxTokensDefault: Int64?
    /// Wall-clock nanoseconds since the Unix epoch, for the signature's date and `created`.
    public var clock: @Sendable () -> Int64

    public init(_ settings: JSONValue, provider: AWSProvider,
                clock: @escaping @Sendable () -> Int64 = { Host.nowUnixNanos }) throws(PluginError) {
        guard case .object = settings else { throw PluginError(.config, "settings must be a JSON object") }
        func string(_ group: String, _ key: String) throws(PluginError) -> String? {
            guard let value = settings[group]?[key] else { return nil }
            guard let text = value.stringValue else { throw PluginError(.config, "\(group).\(key) must be a string") }
            return text
        }
        guard let keyID = try string("credentials", "access_key_id"), !keyID.isEmpty else {
            throw PluginError(.config, "credentials.access_key_id is required")
        }
        guard let secret = try string("credentials", "secret_access_key"), !secret.isEmpty else {
            throw PluginError(.config, "credentials.secret_access_key is required")
        }
        let token = try string("credentials", "session_token")

        var base: String
        var region = try string("options", "region")
        if let given = region, !SigV4Signer.isName(given) {
            throw PluginError(.config, "options.region \"\(given)\" is not a valid AWS region (e.g. us-east-1)")
        }
        if let url = settings["base_url"], !url.isNull {
            guard let text = url.stringValue else { throw PluginError(.config, "base_url must be a string") }
            base = text
            while base.hasSuffix("/") { base.removeLast() }
            let parsed: RequestURL
            do { parsed = try RequestURL(parsing: base) } catch { throw PluginError(.config, "base_url: \(error.description)") }
            if !parsed.query.isEmpty { throw PluginError(.config, "base_url must not have a query") }
            if region == nil { region = Self.region(fromHost: parsed.host, provider: provider) ?? "us-east-1" }
        } else {
            guard let region else {
                throw PluginError(.config, "options.region is required (e.g. us-east-1) unless base_url is set")
            }
            do {
                base = switch provider {
                case .bedrock: try BedrockRuntime.endpoint(region: region)
                case .sagemaker: try SageMakerRuntime.endpoint(region: region)
                }
            } catch { throw PluginError(.config, "options.region: \(error.description)") }
        }

        let credentials = AWSCredentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: token)
        do {
            signer = try SigV4Signer(credentials: credentials, region: region ?? "us-east-1", service: provider.service)
        } catch {
            switch error {
            case .emptyAccessKeyID, .invalidAccessKeyID: throw PluginError(.config, "credentials.access_key_id: \(error.description)")
            case .emptySecretAccessKey: throw PluginError(.config, "credentials.secret_access_key: \(error.description)")
            case .invalidHeader: throw PluginError(.config, "credentials.session_token: \(error.description)")
            case .invalidRegion: throw PluginError(.config, "options.region: \(error.description)")
            default: throw PluginError(.config, error.description)
            }
        }
        self.provider = provider
        self.baseURL = base
        do { hostHeader = try RequestURL(parsing: base).hostHeader } catch { throw PluginError(.config, "base_url: \(error.description)") }
        self.clock = clock

        usagePromptPath = try Self.path(settings, "usage_path")
        usageCompletionPath = try Self.path(settings, "usage_completion_path")

        if let value = settings["options"]?["api"], !value.isNull {
            guard provider == .bedrock else { throw PluginError(.config, "options.api applies to bedrock channels only") }
            guard let text = value.stringValue, let api = BedrockAPI(rawValue: text) else {
                throw PluginError(.config, "options.api must be converse or invoke")
            }
            self.api = api
        }
        if let value = settings["options"]?["include_usage"], !value.isNull {
            guard provider == .sagemaker else { throw PluginError(.config, "options.include_usage applies to sagemaker channels only") }
            // Options arrive as strings from the YAML config; a JSON boolean is taken too.
            guard let flag = value.boolValue ?? value.stringValue.flatMap({ ["true": true, "false": false][$0] }) else {
                throw PluginError(.config, "options.include_usage must be true or false")
            }
            includeUsage = flag
        }
        if let value = settings["options"]?["max_tokens_default"], !value.isNull {
            // Options arrive as strings from the YAML config; a JSON number is taken too.
            guard let count = value.int64Value ?? value.stringValue.flatMap({ Int64($0) }), count > 0 else {
                throw PluginError(.config, "options.max_tokens_default must be a positive integer")
            }
            maxTokensDefault = count
        }
    }

    private static func path(_ settings: JSONValue, _ key: String) throws(PluginError) -> UsagePath? {
        guard let value = settings["options"]?[key] else { return nil }
        guard let text = value.stringValue, let path = UsagePath(text) else {
            throw PluginError(.config, "options.\(key) must be a dotted JSON path such as usage.prompt_tokens")
        }
        return path
    }

    /// `bedrock-runtime.us-west-2.amazonaws.com`, `vpce-….bedrock-runtime.us-west-2.vpce.amazonaws.com`
    /// and `runtime.sagemaker.eu-west-1.amazonaws.com` name their region after the service label.
    static func region(fromHost host: String, provider: AWSProvider) -> String? {
        let labels = host.split(separator: ".").map(String.init)
        let marker = provider == .bedrock ? ["bedrock-runtime"] : ["runtime", "sagemaker"]
        guard labels.count > marker.count else { return nil }
        for i in 0...(labels.count - marker.count - 1) where Array(labels[i..<(i + marker.count)]) == marker {
            let candidate = labels[i + marker.count]
            if SigV4Signer.isName(candidate), candidate.contains("-") { return candidate }
        }
        return nil
    }

    /// Signs a POST to `path` under the base URL; the headers returned are everything the
    /// request needs (Host, the given ones, X-Amz-Date, X-Amz-Security-Token, Authorization).
    func signedRequest(path: String, headers: [(String, String)], body: [UInt8]) throws(PluginError) -> PluginUpstreamRequest {
        let url = baseURL + path
        let all = [("Host", hostHeader)] + headers
        let time = SigningTime(unixNanos: clock())
        do {
            let signature = try signer.sign(method: "POST", url: url, headers: all, body: body, at: time)
            return PluginUpstreamRequest(url: url, headers: all + signature.headers.map { ($0.name, $0.value) }, body: body)
        } catch {
            throw PluginError(.internal, "cannot sign the request: \(error.description)")
        }
    }

    /// Seconds since the Unix epoch, for `created`.
    var nowSeconds: Int64 { SigningTime(unixNanos: clock()).unixSeconds }
}

/// A dotted path into a JSON answer (`usage.prompt_tokens`, `0.details.generated_tokens`): each
/// segment is an object key, or an array index when it is all digits. A leading `$.` is allowed.
public struct UsagePath: Sendable, Equatable {
    public var segments: [String]

    public init?(_ text: String) {
        var body = Substring(text)
        if body.hasPrefix("$.") { body = body.dropFirst(2) }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !body.isEmpty, !parts.contains(where: \.isEmpty) else { return nil }
        segments = parts
    }

    /// The value at this path, if any.
    public func value(in json: JSONValue) -> JSONValue? {
        var current = json
        for segment in segments {
            if case .array = current, let index = Int(segment) {
                guard let next = current[index] else { return nil }
                current = next
            } else {
                guard let next = current[segment] else { return nil }
                current = next
            }
        }
        return current
    }

    /// The integer at this path, if any (a whole number given as a JSON number).
    public func int(in json: JSONValue) -> Int64? {
        guard let current = value(in: json) else { return nil }
        if let value = current.int64Value { return value }
        if let value = current.doubleValue, value >= 0, value < 1e15, value == value.rounded() { return Int64(value) }
        return nil
    }
}

/// Response ids: the upstream's request id when it gives one, else a random one.
enum ResponseID {
    static func make(headers: [(String, String)]) -> String {
        if let id = header("x-amzn-requestid", in: headers), !id.isEmpty { return "chatcmpl-\(id)" }
        return "chatcmpl-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }
}

/// The value of a header, matched case-insensitively.
func header(_ name: String, in headers: [(String, String)]) -> String? {
    headers.first { $0.0.lowercased() == name }?.1
}
