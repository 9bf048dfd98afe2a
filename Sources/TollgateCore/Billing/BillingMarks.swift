import NIOHTTP1
import TollgatePluginABI

/// Whether a request is billed at batch or priority prices (SPEC "Billing"): batch when the
/// `x-batch-request` or `openai-batch` header is set or the body has `metadata.batch_id`;
/// priority when `x-priority: high`, `service_tier: priority`, or `metadata.priority` is high or
/// urgent. The body is only parsed when it mentions one of those fields, so a passthrough body
/// stays unparsed in the common case.
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

    public init(headers: HTTPHeaders, body: UnsafeRawBufferPointer) {
        batch = Self.isSet(headers.first(name: "x-batch-request")) || Self.isSet(headers.first(name: "openai-batch"))
        priority = headers.first(name: "x-priority")?.lowercased() == "high"
        guard Self.mentions(body, "service_tier") || Self.mentions(body, "metadata"),
              let json = try? JSONParser.parse(body) else { return }
        if json["service_tier"]?.stringValue == "priority" { priority = true }
        if let metadata = json["metadata"] {
            if let id = metadata["batch_id"], !id.isNull { batch = true }
            if let level = metadata["priority"]?.stringValue?.lowercased(), level == "high" || level == "urgent" { priority = true }
        }
    }

    static func isSet(_ value: String?) -> Bool {
        guard let value = value?.lowercased() else { return false }
        return !["", "0", "false", "no"].contains(value)
    }

    /// A quick byte search for `"name"`, so bodies without it are never parsed.
    static func mentions(_ body: UnsafeRawBufferPointer, _ name: String) -> Bool {
        let needle = Array("\"\(name)\"".utf8)
        guard body.count >= needle.count, let first = needle.first else { return false }
        var i = 0
        let end = body.count - needle.count
        while i <= end {
            if body[i] == first {
                var j = 1
                while j < needle.count && body[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
