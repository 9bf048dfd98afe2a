import Synchronization

/// Every channel's health by name. Channels look theirs up once, when they are built; the hot
/// path then reaches it through the channel, never through this map.
public final class HealthTracker: Sendable {
    public let settings: HealthSettings
    let events = HealthEvents()
    private let channels = Mutex<[String: ChannelHealth]>([:])

    public init(settings: HealthSettings = HealthSettings()) { self.settings = settings }

    /// The health of the channel called `name`, made on first use.
    public func health(for name: String) -> ChannelHealth {
        channels.withLock { channels in
            if let existing = channels[name] { return existing }
            let made = ChannelHealth(name: name, settings: settings, events: events)
            channels[name] = made
            return made
        }
    }
}
