import Synchronization

/// Where health sends what operators and the detector must hear: notifications, and deprecation
/// notices naming a successor. Set once the gateway is assembled.
final class HealthEvents: Sendable {
    typealias Deprecation = @Sendable (ChannelHealth, _ model: String, DeprecationNotice) -> Void
    private let sinks = Mutex<(notify: (@Sendable (NotificationEvent) -> Void)?, deprecation: Deprecation?)>((nil, nil))

    func onNotify(_ sink: @escaping @Sendable (NotificationEvent) -> Void) { sinks.withLock { $0.notify = sink } }
    func onDeprecation(_ sink: @escaping Deprecation) { sinks.withLock { $0.deprecation = sink } }

    func notify(_ event: NotificationEvent) { sinks.withLock { $0.notify }?(event) }
    func deprecated(_ channel: ChannelHealth, _ model: String, _ notice: DeprecationNotice) {
        sinks.withLock { $0.deprecation }?(channel, model, notice)
    }
}
