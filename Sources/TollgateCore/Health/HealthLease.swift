import NIOCore
import Synchronization

/// What one attempt holds of a channel's health: a Half-Open trial (of the channel's or the
/// model's breaker) and a slot of the adaptive limit. `report` records the outcome (and resolves
/// the trials); `end` gives back the slot and any trial no answer resolved. Both are safe to
/// call more than once; `end` must come last. It keeps the model's health found at admission
/// (nil when the channel tracks no more models), so neither looks the name up again.
final class HealthLease: Sendable {
    let health: ChannelHealth
    let model: String
    let tracked: ModelHealth?
    private let held: Mutex<(channelTrial: Bool, modelTrial: Bool, slot: Bool)>

    init(health: ChannelHealth, model: String, tracked: ModelHealth?, channelTrial: Bool, modelTrial: Bool, slot: Bool) {
        self.health = health
        self.model = model
        self.tracked = tracked
        held = Mutex((channelTrial, modelTrial, slot))
    }

    func report(_ outcome: AttemptOutcome, now: NIODeadline = .now()) {
        let trials = held.withLock { held in
            defer { held.channelTrial = false; held.modelTrial = false }
            return (held.channelTrial, held.modelTrial)
        }
        health.record(model: model, tracked: tracked, outcome: outcome, channelTrial: trials.0, modelTrial: trials.1, now: now)
    }

    func end() {
        let left = held.withLock { held in
            defer { held = (false, false, false) }
            return held
        }
        guard left.channelTrial || left.modelTrial || left.slot else { return }
        health.release(model: model, tracked: tracked, channelTrial: left.channelTrial, modelTrial: left.modelTrial, slot: left.slot)
    }
}
