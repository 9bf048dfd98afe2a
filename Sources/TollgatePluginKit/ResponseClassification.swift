import TollgatePluginABI

/// An upstream answer for `AdaptorChannel.classify` (ABI 1.4): the head of a 2xx (empty body) or
/// a complete error answer to a request for `model` (the upstream's name).
public struct PluginAnswer: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var model: String

    public init(status: Int, headers: [(String, String)], body: [UInt8] = [], model: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.model = model
    }

    /// The first header named `name` (lower-case), any case in the answer.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name }?.1
    }
}

/// Rate-limit counts read from an answer; durations in milliseconds from now, nil when not said.
public struct UpstreamLimits: Sendable, Equatable {
    public var retryAfterMilliseconds: Int64?
    public var requestLimit: Int64?
    public var requestsRemaining: Int64?
    public var requestsResetMilliseconds: Int64?
    public var tokenLimit: Int64?
    public var tokensRemaining: Int64?
    public var tokensResetMilliseconds: Int64?

    public init() {}
}

/// A plugin's reading of an answer for the core's health logic.
public struct ResponseClassification: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        case ok, requestError, rateLimited, overloaded, auth, quota, modelNotFound, contextWindow, deprecated, serverError

        /// What the HTTP status alone says, for an answer whose body names no known type.
        public init(status: Int) {
            switch status {
            case 200..<300: self = .ok
            case 429: self = .rateLimited
            case 529: self = .overloaded
            case 401, 403: self = .auth
            case 402: self = .quota
            case 404: self = .modelNotFound
            case 500...: self = .serverError
            default: self = .requestError
            }
        }
    }

    public var verdict: Verdict
    public var limits: UpstreamLimits
    /// The provider's error message.
    public var message: String
    /// The provider's structured error code or type.
    public var code: String?
    /// `.deprecated` only: the successor the provider names.
    public var successor: String?

    public init(_ verdict: Verdict, limits: UpstreamLimits = UpstreamLimits(), message: String = "", code: String? = nil,
                successor: String? = nil) {
        self.verdict = verdict
        self.limits = limits
        self.message = message
        self.code = code
        self.successor = successor
    }

    /// A retirement of `model` (the channel's upstream name), for an answer that carries the
    /// provider's structured code for a missing or retired model: only when `message` names that
    /// model as a whole name and words a retirement (an upstream may echo a client's text), with
    /// the successor it names. Nil otherwise.
    public static func retirement(of model: String, message: String, code: String?,
                                  limits: UpstreamLimits = UpstreamLimits()) -> ResponseClassification? {
        guard RetirementText.names(model, in: message) && RetirementText.announcesRetirement(message) else { return nil }
        return ResponseClassification(.deprecated, limits: limits, message: message, code: code,
                                      successor: RetirementText.successorModel(in: message, retiring: model))
    }

    /// Fills the ABI struct (buffers allocated for the core to free).
    func write(into out: inout tollgate_type_classification) {
        out.verdict = switch verdict {
        case .ok: TOLLGATE_VERDICT_OK
        case .requestError: TOLLGATE_VERDICT_REQUEST_ERROR
        case .rateLimited: TOLLGATE_VERDICT_RATE_LIMITED
        case .overloaded: TOLLGATE_VERDICT_OVERLOADED
        case .auth: TOLLGATE_VERDICT_AUTH
        case .quota: TOLLGATE_VERDICT_QUOTA
        case .modelNotFound: TOLLGATE_VERDICT_MODEL_NOT_FOUND
        case .contextWindow: TOLLGATE_VERDICT_CONTEXT_WINDOW
        case .deprecated: TOLLGATE_VERDICT_DEPRECATED
        case .serverError: TOLLGATE_VERDICT_SERVER_ERROR
        }
        var fields: UInt32 = 0
        func set(_ value: Int64?, _ bit: UInt32, _ slot: inout Int64) {
            guard let value else { return }
            slot = value
            fields |= bit
        }
        set(limits.retryAfterMilliseconds, TOLLGATE_LIMIT_RETRY_AFTER, &out.retry_after_ms)
        set(limits.requestLimit, TOLLGATE_LIMIT_REQUESTS_LIMIT, &out.requests_limit)
        set(limits.requestsRemaining, TOLLGATE_LIMIT_REQUESTS_REMAINING, &out.requests_remaining)
        set(limits.requestsResetMilliseconds, TOLLGATE_LIMIT_REQUESTS_RESET, &out.requests_reset_ms)
        set(limits.tokenLimit, TOLLGATE_LIMIT_TOKENS_LIMIT, &out.tokens_limit)
        set(limits.tokensRemaining, TOLLGATE_LIMIT_TOKENS_REMAINING, &out.tokens_remaining)
        set(limits.tokensResetMilliseconds, TOLLGATE_LIMIT_TOKENS_RESET, &out.tokens_reset_ms)
        out.limit_fields = fields
        out.message = .allocate(message)
        out.code = .allocate(code ?? "")
        out.successor = .allocate(successor ?? "")
    }
}

/// What the core needs to know about one provider id (descriptor data, ABI 1.4).
public struct ProviderInfo: Sendable {
    /// Price-list entries tried as `<prefix>/<model>` before the bare model (LiteLLM's names).
    public var pricePrefixes: [String]
    /// Client headers passed to `buildRequest` (provider feature flags; never credentials).
    public var forwardHeaders: [String]
    /// The channel the embedded default adds when the environment holds its credentials.
    public var environment: EnvironmentChannel?
    /// Header-name prefixes `classify` reads on a 2xx answer: the host asks about a success only
    /// when one is present (`[]`: never; nil: on every answer).
    public var successHeaderPrefixes: [String]?

    public init(pricePrefixes: [String] = [], forwardHeaders: [String] = [], successHeaderPrefixes: [String]? = nil,
                environment: EnvironmentChannel? = nil) {
        self.pricePrefixes = pricePrefixes
        self.forwardHeaders = forwardHeaders
        self.environment = environment
        self.successHeaderPrefixes = successHeaderPrefixes
    }

    var json: JSONValue {
        var members: [JSONValue.Member] = [.init("price_prefixes", .array(pricePrefixes.map(JSONValue.string))),
                                           .init("forward_headers", .array(forwardHeaders.map(JSONValue.string)))]
        if let environment { members.append(.init("environment", environment.json)) }
        if let successHeaderPrefixes { members.append(.init("success_header_prefixes", .array(successHeaderPrefixes.map(JSONValue.string)))) }
        return .object(members)
    }
}

/// A channel made from environment variables: each credential and option takes the first
/// non-empty variable of its list; the channel is added only when every `require`d name is set.
public struct EnvironmentChannel: Sendable {
    public var credentials: [String: [String]]
    public var options: [String: [String]]
    public var require: [String]
    public var models: [String]
    public var priority: Int

    public init(credentials: [String: [String]], options: [String: [String]] = [:], require: [String], models: [String],
                priority: Int = 0) {
        self.credentials = credentials
        self.options = options
        self.require = require
        self.models = models
        self.priority = priority
    }

    var json: JSONValue {
        func map(_ m: [String: [String]]) -> JSONValue {
            .object(m.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, .array($0.value.map(JSONValue.string))) })
        }
        return .object([.init("credentials", map(credentials)), .init("options", map(options)),
                        .init("require", .array(require.map(JSONValue.string))),
                        .init("models", .array(models.map(JSONValue.string))), .init("priority", .int(Int64(priority)))])
    }
}
