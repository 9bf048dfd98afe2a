import Foundation

/// The newest client requests of the usage ledger (`GET /admin/requests`: routes under `/v1`,
/// not admin calls), optionally of one key, one model and a range of statuses.
public struct RecentRequestsQuery: Sendable {
    public var key: String?
    public var model: String?
    /// Statuses from `statuses.lowerBound` up to (not including) `statuses.upperBound`.
    public var statuses: Range<Int> = 0..<1000
    public var limit = 100

    public init(key: String? = nil, model: String? = nil, statuses: Range<Int> = 0..<1000, limit: Int = 100) {
        self.key = key
        self.model = model
        self.statuses = statuses
        self.limit = limit
    }

    /// `429` (that status) or `4xx` (its class); nil for anything else.
    public static func statuses(_ text: String) -> Range<Int>? {
        if let code = Int(text), (100...599).contains(code) { return code..<(code + 1) }
        let chars = Array(text.lowercased())
        guard chars.count == 3, chars[1] == "x", chars[2] == "x", let digit = chars[0].wholeNumberValue, (1...5).contains(digit) else {
            return nil
        }
        return (digit * 100)..<(digit * 100 + 100)
    }
}

/// One request as the ledger keeps it (never a key or a prompt).
public struct LedgerRow: Sendable, Equatable {
    public var requestID: String
    /// Unix milliseconds.
    public var startedAt: Int64
    public var key: String?
    public var route: String
    public var model: String?
    public var channel: String?
    public var status: Int
    public var promptTokens: Int64?
    public var completionTokens: Int64?
    public var estimated: Bool
    public var costNano: Int64?
    public var currency: String?
    public var latencyMicros: Int64

    public var json: JSONValue {
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func int(_ n: Int64?) -> JSONValue { n.map { .int($0) } ?? .null }
        return .object(["request_id": .string(requestID), "started_at_ms": .int(startedAt), "key": text(key), "route": .string(route),
                        "model": text(model), "channel": text(channel), "status": .int(status), "prompt_tokens": int(promptTokens),
                        "completion_tokens": int(completionTokens), "estimated": .bool(estimated), "cost_nano": int(costNano),
                        "currency": text(currency), "latency_ms": .number(String(format: "%.1f", Double(latencyMicros) / 1000))])
    }
}
