import Foundation

/// One event for operators (SPEC "Notification"), posted to the webhook as JSON.
public struct NotificationEvent: Sendable {
    public enum Priority: Int, Sendable, Comparable, CaseIterable {
        case low, medium, high, critical
        public static func < (a: Priority, b: Priority) -> Bool { a.rawValue < b.rawValue }
        public var name: String { String(describing: self) }
        public init?(name: String) {
            guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = match
        }
    }

    /// `new_model`, `price_missing`, `channel_error`, `auth_failed`, `balance_exhausted`,
    /// `api_version_deprecated`.
    public var type: String
    public var priority: Priority
    public var title: String
    public var message: String
    public var metadata: [String: String]
    public var timestampMillis: Int64

    public init(type: String, priority: Priority, title: String, message: String, metadata: [String: String] = [:],
                timestampMillis: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) {
        self.type = type
        self.priority = priority
        self.title = title
        self.message = message
        self.metadata = metadata
        self.timestampMillis = timestampMillis
    }

    public var json: [UInt8] {
        let iso = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(timestampMillis) / 1000))
        return JSONValue.object([
            "type": .string(type), "priority": .string(priority.name), "title": .string(title), "message": .string(message),
            "metadata": .object(metadata.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, .string($0.value)) }),
            "timestamp": .string(iso),
        ]).serialized()
    }
}
