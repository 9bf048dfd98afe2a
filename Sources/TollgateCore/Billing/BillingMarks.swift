#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

    /// A quick byte search for `"name"` (memchr for each candidate quote: vectorized, so a 1 MB
    /// body costs tens of microseconds, not milliseconds), so bodies without it are never parsed.
    static func mentions(_ body: UnsafeRawBufferPointer, _ name: String) -> Bool {
        let needle = Array("\"\(name)\"".utf8)
        guard let base = body.baseAddress, body.count >= needle.count else { return false }
        return needle.withUnsafeBytes { needleBytes -> Bool in
            guard let wanted = needleBytes.baseAddress else { return false }
            var offset = 0
            let last = body.count - needle.count
            while offset <= last, let hit = memchr(base + offset, 0x22, last - offset + 1) {
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, wanted, needle.count) == 0 { return true }
                offset = at + 1
            }
            return false
        }
    }
}
