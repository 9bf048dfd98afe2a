import TollgatePluginABI
@_exported import TollgateShared

/// A failure to report to the core: a status and a message a person understands.
public struct PluginError: Error, Sendable {
    public enum Kind: Sendable {
        case invalidInput, unsupported, upstream, config, auth, `internal`
    }
    public var kind: Kind
    public var message: String
    /// Client bytes produced before the failure (stream hooks only).
    public var output: [UInt8]

    public init(_ kind: Kind, _ message: String, output: [UInt8] = []) {
        self.kind = kind
        self.message = message
        self.output = output
    }

    var status: tollgate_status {
        switch kind {
        case .invalidInput: TOLLGATE_ERR_INVALID_INPUT
        case .unsupported: TOLLGATE_ERR_UNSUPPORTED
        case .upstream: TOLLGATE_ERR_UPSTREAM
        case .config: TOLLGATE_ERR_CONFIG
        case .auth: TOLLGATE_ERR_AUTH
        case .internal: TOLLGATE_ERR_INTERNAL
        }
    }
}

/// Token counts in the ABI's convention (see `TokenUsage`): `prompt` includes cache reads and
/// writes, `completion` includes reasoning; nil means "not reported".
public typealias PluginUsage = TokenUsage

public enum Operation: Sendable {
    /// `countTokens` (ABI 1.2): a count request in the client's dialect (Anthropic or Gemini), or
    /// the internal (OpenAI) form when the channel does not take the client's; its count out.
    case chat, embeddings, countTokens
}

/// API dialects. `.openAI` (Chat Completions) is the gateway's internal representation.
public enum Dialect: Sendable {
    case openAI, anthropic, gemini
}

/// What the core asks a channel to send upstream.
public struct PluginRequest: Sendable {
    public var operation: Operation
    /// The upstream model name (after the channel's model_map).
    public var model: String
    /// The client's JSON body, in `dialect` (`.openAI` unless the channel accepted another).
    public var body: [UInt8]
    public var dialect: Dialect
    public var stream: Bool
    /// Forwardable client headers (e.g. `anthropic-beta`).
    public var clientHeaders: [(String, String)]

    public init(operation: Operation, model: String, body: [UInt8], dialect: Dialect = .openAI, stream: Bool,
                clientHeaders: [(String, String)] = []) {
        self.operation = operation
        self.model = model
        self.body = body
        self.dialect = dialect
        self.stream = stream
        self.clientHeaders = clientHeaders
    }
}

/// The request a channel built.
public struct PluginUpstreamRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String = "POST", url: String, headers: [(String, String)], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A complete upstream answer to convert.
public struct PluginResponse: Sendable {
    public var operation: Operation
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The model the client asked for, to echo back.
    public var model: String
    /// The client's body: empty unless the channel's `readsRequestBody(operation)` is true.
    public var requestBody: [UInt8]
    /// Answer in this dialect (the request body's).
    public var dialect: Dialect

    public init(operation: Operation = .chat, status: Int, headers: [(String, String)] = [], body: [UInt8], model: String,
                requestBody: [UInt8] = [], dialect: Dialect = .openAI) {
        self.operation = operation
        self.status = status
        self.headers = headers
        self.body = body
        self.model = model
        self.requestBody = requestBody
        self.dialect = dialect
    }
}

/// The converted answer, in the OpenAI dialect.
public struct PluginConvertedResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var usage: PluginUsage

    public init(status: Int, body: [UInt8], usage: PluginUsage = PluginUsage()) {
        self.status = status
        self.body = body
        self.usage = usage
    }
}

extension PluginConvertedResponse {
    /// A provider's count (the integer member `field` of its JSON answer) as the answer to a
    /// count: `{"input_tokens": N}`. An answer without a usable count is the upstream's fault.
    public static func tokenCount(status: Int, body: [UInt8], field: String) throws(PluginError) -> PluginConvertedResponse {
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch { throw PluginError(.upstream, "the token count answer is not JSON: \(error)") }
        guard let tokens = json[field]?.int64Value, tokens >= 0 else {
            throw PluginError(.upstream, "the token count answer has no \(field) (a non-negative integer)")
        }
        return PluginConvertedResponse(status: status, body: JSONValue.object(["input_tokens": .int(tokens)]).serialized())
    }
}

public struct PluginStreamParams: Sendable {
    public var operation: Operation
    public var model: String
    public var headers: [(String, String)]
    public var includeUsage: Bool
    /// The client's body: empty unless the channel's `readsRequestBody(operation)` is true.
    public var requestBody: [UInt8]
    /// Stream events in this dialect (the request body's).
    public var dialect: Dialect

    public init(operation: Operation = .chat, model: String, headers: [(String, String)] = [], includeUsage: Bool,
                requestBody: [UInt8] = [], dialect: Dialect = .openAI) {
        self.operation = operation
        self.model = model
        self.headers = headers
        self.includeUsage = includeUsage
        self.requestBody = requestBody
        self.dialect = dialect
    }
}

/// An adaptor plugin: one instance per (provider id, API version), shared by its channels.
public protocol AdaptorPlugin: AnyObject, Sendable {
    static var name: String { get }
    static var version: String { get }
    static var providerIDs: [String] { get }
    /// True when `buildRequest` may block (it calls `Host.httpCall`); the core then calls it on
    /// its blocking pool.
    static var buildMayBlock: Bool { get }
    /// What the core needs to know about each provider id (ABI 1.4): price prefixes, forwarded
    /// client headers, the embedded default's environment channel. Default: nothing.
    static var providerInfo: [String: ProviderInfo] { get }

    init(providerID: String, apiVersion: String) throws(PluginError)
    /// Creates a channel from its settings object (`name`, `provider`, `base_url`,
    /// `api_version`, `credentials`, `options`).
    func makeChannel(settings: JSONValue) throws(PluginError) -> any AdaptorChannel
}

extension AdaptorPlugin {
    public static var buildMayBlock: Bool { false }
    public static var providerInfo: [String: ProviderInfo] { [:] }
}

/// A configured channel; used from several threads at once.
public protocol AdaptorChannel: AnyObject, Sendable {
    /// True when a body in `dialect` for `model` is the provider's own and is taken as it is (and
    /// answered in it), so it passes through untouched. Default: only `.openAI`.
    func accepts(_ dialect: Dialect, model: String) -> Bool
    /// True when `convertResponse` or `makeStream` reads `requestBody` for `operation`: only then
    /// does the kit copy the client's body (it can be megabytes) into the answer's call. Default: false.
    func readsRequestBody(_ operation: Operation) -> Bool
    /// True when `convertResponse` or `makeStream` reads the upstream's `headers` for
    /// `operation`: a channel that does not is spared parsing them on every answer (an upstream
    /// sends a dozen or more, each a heap string). Default: true.
    func readsAnswerHeaders(_ operation: Operation) -> Bool
    func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest
    func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse
    func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream
    /// Reads an answer in the provider's shape for health (ABI 1.4); nil leaves it to the core's
    /// OpenAI-shaped reading. Runs on every answer: keep it cheap. Default: nil.
    func classify(_ answer: PluginAnswer) -> ResponseClassification?
}

extension AdaptorChannel {
    public func accepts(_ dialect: Dialect, model: String) -> Bool { false }
    public func readsRequestBody(_ operation: Operation) -> Bool { false }
    public func readsAnswerHeaders(_ operation: Operation) -> Bool { true }
    public func classify(_ answer: PluginAnswer) -> ResponseClassification? { nil }
}

/// A streamed answer's transducer; used by one thread at a time.
public protocol AdaptorStream: AnyObject {
    /// Upstream bytes in (any split), OpenAI SSE bytes out; update `usage` in place.
    func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8]
    /// The upstream ended; flush. Throw `.upstream` if it ended early.
    func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8]
}
