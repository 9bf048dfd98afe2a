import TollgatePluginABI

/// The price tier a request is billed at (SPEC "Billing"): the tier that was served, never one a
/// client asks for. Batch when the operator marks the key or the channel `billing: { tier: batch }`
/// (a batch endpoint behind an OpenAI-compatible channel, say); priority when the upstream reports
/// it served priority (OpenAI's `service_tier` in the answer or the stream's chunks). Client
/// headers (`x-batch-request`, `openai-batch`, `x-priority`) and body fields (`metadata`,
/// `service_tier` in the request) choose nothing.
public struct BillingMarks: Sendable, Equatable {
    public var batch = false
    public var priority = false

    public init(batch: Bool = false, priority: Bool = false) {
        self.batch = batch
        self.priority = priority
    }

    var abiFlags: UInt32 {
        (batch ? UInt32(TOLLGATE_BILL_BATCH) : 0) | (priority ? UInt32(TOLLGATE_BILL_PRIORITY) : 0)
    }

    /// Whether an answer's `service_tier` says priority was served.
    static func servedPriority(_ tier: JSONValue?) -> Bool { tier?.stringValue == "priority" }
}

/// How an operator bills a key's or a channel's requests (`billing: { tier: ... }`).
public enum BillingTier: String, Sendable {
    case standard, batch
}
