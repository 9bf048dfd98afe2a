import NIOCore

/// A one-minute sliding window counter (the weighted two-window estimate): O(1) memory whatever
/// the limit. Within one fixed minute the count is exact, so a burst never gets past the limit.
struct SlidingWindow: Sendable {
    static let length = TimeAmount.seconds(60)
    private var start: NIODeadline?
    private var previous = 0
    private var current = 0

    /// The estimated amount in the minute before `now`.
    mutating func count(now: NIODeadline) -> Int {
        roll(now)
        guard let start else { return 0 }
        let elapsed = Double((now - start).nanoseconds) / Double(Self.length.nanoseconds)
        return current + Int((Double(previous) * (1 - elapsed)).rounded(.up))
    }

    mutating func add(_ amount: Int, now: NIODeadline) {
        roll(now)
        current += amount
    }

    /// How long until `needed` more fits under `limit` (at least a second).
    mutating func wait(needed: Int, limit: Int, now: NIODeadline) -> TimeAmount {
        roll(now)
        guard let start else { return .seconds(1) }
        let length = Double(Self.length.nanoseconds)
        let elapsed = Double((now - start).nanoseconds) / length
        let untilRoll = TimeAmount.nanoseconds(Int64((1 - elapsed) * length))
        let room = limit - needed - current
        // Within this minute only the previous minute's share decays.
        if room >= 0 && previous > 0 {
            let fraction = 1 - Double(room) / Double(previous)
            return max(.seconds(1), .nanoseconds(Int64(max(0, fraction - elapsed) * length)))
        }
        // After the roll this minute becomes the decaying one.
        let after = current > 0 ? max(0, 1 - Double(limit - needed) / Double(current)) : 0
        return max(.seconds(1), untilRoll + .nanoseconds(Int64(after * length)))
    }

    private mutating func roll(_ now: NIODeadline) {
        guard let began = start else { start = now; return }
        let elapsed = now - began
        guard elapsed >= Self.length else { return }
        if elapsed >= Self.length + Self.length {
            previous = 0
            current = 0
            start = now
        } else {
            previous = current
            current = 0
            start = began + Self.length
        }
    }
}
