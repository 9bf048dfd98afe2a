/// What the gateway knows about a request when it ends; handed to the recorder (the usage ledger
/// and metrics build on it).
public struct RequestRecord: Sendable {
    public var requestID: String
    public var keyName: String?
    public var route: String
    public var model: String?
    public var channel: String?
    public var status: Int
    public var usage: TokenUsage
    public var latencyNanos: Int64
    public var firstByteNanos: Int64?
}

/// Receives a record per finished request. Called on an event loop: must not block.
public protocol RequestRecorder: Sendable {
    func record(_ record: RequestRecord)
}
