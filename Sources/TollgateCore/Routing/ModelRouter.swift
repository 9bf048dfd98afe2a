import Synchronization

/// Maps a model to the channels serving it and picks one: the lowest priority tier that has a
/// channel wins, and channels within it share requests by smooth weighted round-robin.
public final class ModelRouter: Sendable {
    public let channels: [RuntimeChannel]
    /// Current weights of the smooth weighted round-robin, per channel index.
    private let current: Mutex<[Int]>

    public init(channels: [RuntimeChannel]) {
        self.channels = channels
        current = Mutex(Array(repeating: 0, count: channels.count))
    }

    /// Indices of the channels of the first tier serving `model`.
    func candidates(for model: String) -> [Int] {
        var best: [Int] = []
        var bestPriority = Int.max
        for (index, channel) in channels.enumerated() where channel.serves(model) {
            let priority = channel.config.priority
            if priority < bestPriority { bestPriority = priority; best = [index] }
            else if priority == bestPriority { best.append(index) }
        }
        return best
    }

    /// The channel to use for `model`, or nil when none serves it.
    public func pick(_ model: String) -> RuntimeChannel? {
        let indices = candidates(for: model)
        guard indices.count > 1 else { return indices.first.map { channels[$0] } }
        let chosen = current.withLock { current -> Int in
            var total = 0
            var best = indices[0]
            for index in indices {
                let weight = channels[index].config.weight
                current[index] += weight
                total += weight
                if current[index] > current[best] { best = index }
            }
            current[best] -= total
            return best
        }
        return channels[chosen]
    }

    /// Every model name a client can ask for by name.
    public var modelNames: [String] {
        var seen = Set<String>()
        return channels.flatMap(\.listedModels).filter { seen.insert($0).inserted }
    }
}
