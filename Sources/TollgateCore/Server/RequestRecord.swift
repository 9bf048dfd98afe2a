/// What the gateway knows about a request when it ends; handed to the recorder (the usage ledger
/// and metrics build on it).
public struct RequestRecord: Sendable {
    public var requestID: String
    public var keyName: String?
    public var route: String
    public var model: String?
    public var channel: String?
    public var provider: String?
    /// The client's dialect: `openai`, `anthropic` or `gemini`.
    public var dialect: String
    public var status: Int
    public var usage: TokenUsage
    /// What the request cost; nil when it was not priced (see `bill.problem`).
    public var bill: Bill
    public var latencyNanos: Int64
    public var firstByteNanos: Int64?
    /// Time spent waiting on the upstream (request sent to answer ended); nil when none was called.
    public var upstreamNanos: Int64?
    /// Wall clock when the request arrived, Unix milliseconds.
    public var startedAtMillis: Int64
    /// A valid client or admin key came with it. Only such requests are usage-ledger rows; the
    /// others (refused keys, probes, metrics scrapes) are counted in metrics and the request log.
    public var authenticated: Bool
    /// The model the client asked for when a fallback (`model`) served it.
    public var fallbackFrom: String?

    public init(requestID: String, keyName: String? = nil, route: String, model: String? = nil, channel: String? = nil,
                provider: String? = nil, dialect: String = "openai", status: Int, usage: TokenUsage = TokenUsage(),
                bill: Bill = .unpriced, latencyNanos: Int64, firstByteNanos: Int64? = nil, upstreamNanos: Int64? = nil, startedAtMillis: Int64,
                authenticated: Bool = true, fallbackFrom: String? = nil) {
        self.requestID = requestID
        self.keyName = keyName
        self.route = route
        self.model = model
        self.channel = channel
        self.provider = provider
        self.dialect = dialect
        self.status = status
        self.usage = usage
        self.bill = bill
        self.latencyNanos = latencyNanos
        self.firstByteNanos = firstByteNanos
        self.upstreamNanos = upstreamNanos
        self.startedAtMillis = startedAtMillis
        self.authenticated = authenticated
        self.fallbackFrom = fallbackFrom
    }
}

/// Receives a record per finished request. Called on an event loop: must not block.
public protocol RequestRecorder: Sendable {
    func record(_ record: RequestRecord)
}
