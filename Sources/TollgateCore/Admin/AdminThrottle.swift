import Synchronization

/// Repeated admin-key failures from one address: after `maxFailures` within `window` seconds the
/// address gets 429 for the rest of the window, whatever key it sends, so the admin key cannot be
/// guessed at network speed. The table forgets expired windows and never holds more than
/// `capacity` addresses.
final class AdminThrottle: Sendable {
    static let maxFailures = 5
    static let window: Int64 = 60
    static let capacity = 10_000

    private struct Failures { var count: Int; var since: Int64 }
    private let table = Mutex<[String: Failures]>([:])

    /// Seconds until `address` may try again, or nil when it may now.
    func retryAfter(_ address: String, now: Int64) -> Int64? {
        table.withLock { table in
            guard let entry = table[address], now - entry.since < Self.window, entry.count >= Self.maxFailures else { return nil }
            return Self.window - (now - entry.since)
        }
    }

    func failed(_ address: String, now: Int64) {
        table.withLock { table in
            if table.count >= Self.capacity {
                table = table.filter { now - $0.value.since < Self.window }
                if table.count >= Self.capacity { table.removeAll() }
            }
            if let entry = table[address], now - entry.since < Self.window {
                table[address] = Failures(count: entry.count + 1, since: entry.since)
            } else {
                table[address] = Failures(count: 1, since: now)
            }
        }
    }
}
