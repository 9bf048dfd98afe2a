/// What one instance tells the shared store at a limit sync: the requests and tokens it counted
/// since its last sync, by key and minute, and its requests in flight now.
public struct SharedLimitReport: Sendable {
    public struct Delta: Sendable, Equatable {
        public var key: String
        /// Unix minute (seconds / 60): every instance uses the same windows.
        public var minute: Int64
        public var requests: Int64
        public var tokens: Int64
    }
    /// This instance's id (random per process).
    public var instance: String
    /// The current Unix minute.
    public var minute: Int64
    /// When the report was made (Unix milliseconds): the instance's in-flight row is as of then,
    /// and rows of instances silent for 10 s before it no longer count.
    public var at: Int64
    public var deltas: [Delta]
    /// Every limited key, with this instance's requests in flight.
    public var inFlight: [String: Int64]
}

/// Every instance's counts for one key, as the shared store holds them.
public struct SharedLimitTotals: Sendable, Equatable {
    public var requests: Int64 = 0
    public var tokens: Int64 = 0
    public var previousRequests: Int64 = 0
    public var previousTokens: Int64 = 0
    /// Requests in flight on the other instances (those that synced lately).
    public var othersInFlight: Int64 = 0

    public init() {}
}
