import NIOCore
import Synchronization

/// Maps a model to the channels serving it and picks one: the lowest priority tier with a
/// channel able to take the request wins, and its channels share requests by smooth weighted
/// round-robin on `weight` scaled by each (channel, model)'s health score (1...1000). Open
/// breakers, rate-limit waits and full adaptive limits take a channel out of the choice.
public final class ModelRouter: Sendable {
    public let channels: [RuntimeChannel]
    /// Channels taken out of rotation (`enabled: false`): listed and watched, never routed to.
    public let outOfRotation: Set<String>
    /// Current weights of the smooth weighted round-robin, per channel index. Held only for the
    /// arithmetic; health is read before, under each channel's own lock.
    private let current: Mutex<[Int]>
    /// `tiers(for:)` of the models asked for so far, which never change (a router is immutable;
    /// a new config builds a new one): routing then scans no channel and allocates nothing. Only
    /// served names up to `cacheableName` bytes, and at most `cachedModels` of them.
    private let tierCache = Mutex(TierCache())
    static let cachedModels = 4096
    static let cacheableName = 256

    /// `outOfRotation` defaults to the channels whose config says `enabled: false`.
    public init(channels: [RuntimeChannel], outOfRotation: Set<String>? = nil) {
        self.channels = channels
        self.outOfRotation = outOfRotation ?? Set(channels.filter { !$0.config.enabled }.map(\.name))
        current = Mutex(Array(repeating: 0, count: channels.count))
    }

    /// Why no channel could take a request.
    public struct Refusal: Sendable {
        /// Every candidate was at its adaptive concurrency limit (room may come soon).
        public var busy = false
        /// Every refusing candidate was rate limited.
        public var rateLimited = true
        /// When the first of them may take requests again, if known.
        public var retryAt: NIODeadline?
        public var reasons: [String] = []
    }

    enum Route: Sendable {
        case routed(RuntimeChannel, HealthLease?)
        /// No channel serves the model at all.
        case unknownModel
        case unavailable(Refusal)
    }

    func serves(_ model: String) -> Bool { channels.contains { $0.serves(model) } }

    /// Indices of the channels serving `model`, grouped by priority tier, lowest first.
    func tiers(for model: String) -> [[Int]] {
        if let cached = tierCache.withLock({ $0.tiers(for: model) }) { return cached }
        let tiers = servingTiers(model)
        if !tiers.isEmpty && model.utf8.count <= Self.cacheableName {
            tierCache.withLock { cache in if cache.byName.count < Self.cachedModels { cache.byName[model] = tiers } }
        }
        return tiers
    }

    /// Tiers found, by model name, and the last ones asked for: a request most often names the
    /// model the one before named, and comparing two names costs less than hashing one.
    private struct TierCache {
        var byName: [String: [[Int]]] = [:]
        var last: (model: String, tiers: [[Int]])?

        mutating func tiers(for model: String) -> [[Int]]? {
            if let last, last.model == model { return last.tiers }
            guard let tiers = byName[model] else { return nil }
            last = (model, tiers)
            return tiers
        }
    }

    /// How many models' tiers are remembered (for tests).
    var cachedTierCount: Int { tierCache.withLock { $0.byName.count } }

    private func servingTiers(_ model: String) -> [[Int]] {
        var serving: [Int] = []
        var oneTier = true
        for (index, channel) in channels.enumerated() where channel.serves(model) && (outOfRotation.isEmpty || !outOfRotation.contains(channel.name)) {
            if let first = serving.first, channels[first].config.priority != channel.config.priority { oneTier = false }
            serving.append(index)
        }
        guard !oneTier else { return serving.isEmpty ? [] : [serving] }  // most models: no grouping
        var tiers: [[Int]] = []
        var tierPriority: Int?
        for index in serving.sorted(by: { (channels[$0].config.priority, $0) < (channels[$1].config.priority, $1) }) {
            let priority = channels[index].config.priority
            if priority == tierPriority { tiers[tiers.count - 1].append(index) } else { tiers.append([index]); tierPriority = priority }
        }
        return tiers
    }

    /// Picks a channel for `model` and claims its health lease; `excluding` holds channels
    /// already tried for this request.
    func route(_ model: String, excluding: TriedChannels = .none, embeddings: Bool = false, now: NIODeadline = .now()) -> Route {
        let tiers = tiers(for: model)
        guard !tiers.isEmpty else {
            let resting = channels.filter { $0.serves(model) && outOfRotation.contains($0.name) }.map { "channel '\($0.name)' is out of rotation" }
            return resting.isEmpty ? .unknownModel : .unavailable(Refusal(rateLimited: false, reasons: resting))
        }
        var refusal = Refusal()
        var anyRefused = false
        for tier in tiers {
            // Which of the tier's channels were tried, and the eligible ones with their weights:
            // on the stack, not two allocations a request.
            let routed = withUnsafeTemporaryAllocation(of: Bool.self, capacity: tier.count) { tried in
                withUnsafeTemporaryAllocation(of: Candidate.self, capacity: tier.count) { eligible in
                    route(model, in: tier, tried: tried, eligible: eligible, excluding: excluding, embeddings: embeddings, now: now,
                          refusal: &refusal, anyRefused: &anyRefused)
                }
            }
            if let routed { return routed }
        }
        if !anyRefused { refusal.rateLimited = false }
        return .unavailable(refusal)
    }

    /// A channel of a tier by its position there, and its weight for this request.
    private typealias Candidate = (position: Int, weight: Int)

    /// One tier's part of `route`: its channels, best score first, until one admits the request.
    private func route(_ model: String, in tier: [Int], tried: UnsafeMutableBufferPointer<Bool>,
                       eligible: UnsafeMutableBufferPointer<Candidate>, excluding: TriedChannels, embeddings: Bool, now: NIODeadline,
                       refusal: inout Refusal, anyRefused: inout Bool) -> Route? {
        tried.initialize(repeating: false)
        /// Claims the channel's lease (the request is routed there), else notes why not.
        func admit(_ position: Int) -> Route? {
            let channel = channels[tier[position]]
            let admission = channel.health.admit(model: channel.upstreamModel(for: model), embeddings: embeddings, now: now)
            tried[position] = true
            anyRefused = true
            switch admission {
            case .admitted(let lease):
                return .routed(channel, lease)
            case .busy:
                refusal.busy = true
                refusal.rateLimited = false
            case .refused(let until, let rateLimited, let reason):
                if !rateLimited { refusal.rateLimited = false }
                if let until { refusal.retryAt = min(refusal.retryAt ?? until, until) }
                refusal.reasons.append(reason)
            }
            return nil
        }
        // A tier of one channel takes the request if its health admits it, whatever its score
        // (weights only choose between channels): its score, a second look at its health, is skipped.
        if tier.count == 1 {
            let channel = channels[tier[0]]
            if excluding.contains(channel.name) { return nil }
            if case .mock = channel.backend { return .routed(channel, nil) }
            return admit(0)
        }
        while true {
            var count = 0
            for position in tier.indices where !tried[position] && !excluding.contains(channels[tier[position]].name) {
                let channel = channels[tier[position]]
                if case .mock = channel.backend {
                    eligible[count] = (position, channel.config.weight * 1000)
                    count += 1
                } else if let score = channel.health.score(model: channel.upstreamModel(for: model), now: now) {
                    eligible[count] = (position, channel.config.weight * score)
                    count += 1
                } else if let route = admit(position) {
                    return route  // room came back since `score` (another loop's request ended)
                }
            }
            guard count > 0 else { return nil }
            let chosen = choose(UnsafeMutableBufferPointer(rebasing: eligible[..<count]), in: tier)
            if case .mock = channels[tier[chosen]].backend { return .routed(channels[tier[chosen]], nil) }
            if let route = admit(chosen) { return route }
        }
    }

    /// Smooth weighted round-robin (nginx's) over the eligible channels; the chosen one's position.
    private func choose(_ eligible: UnsafeMutableBufferPointer<Candidate>, in tier: [Int]) -> Int {
        guard eligible.count > 1 else { return eligible[0].position }
        return current.withLock { current -> Int in
            var total = 0
            var best = eligible[0].position
            for (position, weight) in eligible {
                current[tier[position]] += weight
                total += weight
                if current[tier[position]] > current[tier[best]] { best = position }
            }
            current[tier[best]] -= total
            return best
        }
    }

    /// The channel to use for `model` (its lease given back at once), or nil. For tools and
    /// tests; requests use `route`.
    public func pick(_ model: String) -> RuntimeChannel? {
        guard case .routed(let channel, let lease) = route(model) else { return nil }
        lease?.end()
        return channel
    }

    /// Every model name a client can ask for by name.
    public var modelNames: [String] {
        var seen = Set<String>()
        return channels.flatMap(\.listedModels).filter { seen.insert($0).inserted }
    }
}
