/// The channels a request has tried, which routing skips. The first is kept inline and only a
/// failover's further ones go in a set: most requests try one channel, and a set's first insert
/// is an allocation.
struct TriedChannels: Sendable {
    private var first: String?
    private var more: Set<String> = []

    static let none = TriedChannels()

    func contains(_ name: String) -> Bool {
        guard let first else { return false }
        return first == name || more.contains(name)
    }

    mutating func insert(_ name: String) {
        if first == nil { first = name } else if first != name { more.insert(name) }
    }
}
