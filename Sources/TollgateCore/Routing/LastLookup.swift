import Synchronization

/// What a lookup found for the last name it was asked, kept beside the table it came from: a
/// channel is asked about the same model (or its plugin's URL) request after request, and
/// comparing two names costs less than hashing one. Held by reference under its lock (an
/// optional tuple under a lock was copied out through the runtime's generic witnesses).
final class LastLookup<Value: Sendable>: Sendable {
    private final class Found: Sendable {
        let name: String, value: Value
        init(_ name: String, _ value: Value) { (self.name, self.value) = (name, value) }
    }

    private let last = Mutex<Found?>(nil)

    /// The value remembered for `name` while `stillGood` holds of it, else `find`'s, remembered.
    func value(for name: String, stillGood: (Value) -> Bool = { _ in true }, find: () -> Value) -> Value {
        if let found = last.withLock({ $0 }), found.name == name, stillGood(found.value) { return found.value }
        let value = find()
        last.withLock { $0 = Found(name, value) }
        return value
    }
}
