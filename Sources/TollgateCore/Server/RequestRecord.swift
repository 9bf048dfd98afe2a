/// What the gateway knows about a request when it ends; handed to the recorders (the usage ledger
/// and metrics build on it). A class: the ledger's queue and the recent-requests view keep it,
/// and each copy of a struct of a dozen texts retained every one of them.
public final class RequestRecord: Sendable {
    public let requestID: String
    public let keyName: String?
    public let route: String
    public let model: String?
    public let channel: String?
    public let provider: String?
    /// The client's dialect: `openai`, `anthropic` or `gemini`.
    public let dialect: String
    public let status: Int
    public let usage: TokenUsage
    /// What the request cost; nil when it was not priced (see `bill.problem`).
    public let bill: Bill
    public let latencyNanos: Int64
    public let firstByteNanos: Int64?
    /// Time spent waiting on the upstream (request sent to answer ended); nil when none was called.
    public let upstreamNanos: Int64?
    /// Wall clock when the request arrived, Unix milliseconds.
    public let startedAtMillis: Int64
    /// A valid client or admin key came with it. Only such requests are usage-ledger rows; the
    /// others (refused keys, probes, metrics scrapes) are counted in metrics and the request log.
    public let authenticated: Bool
    /// The model the client asked for when a fallback (`model`) served it.
    public let fallbackFrom: String?

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
