import Logging
import Synchronization

/// Sends operator events to a webhook without ever blocking a request: `notify` only filters and
/// enqueues; one background task delivers, retrying with backoff. Events below the minimum
/// priority are dropped, and each type is limited to `perTypePerHour` deliveries per hour.
public final class Notifier: Sendable {
    public struct Settings: Sendable {
        public var webhook: String?
        public var minimumPriority = NotificationEvent.Priority.low
        public var perTypePerHour = 10
        public var attempts = 4
        /// First retry delay; doubles on each further attempt.
        public var backoff: Duration = .milliseconds(500)
        public init() {}
    }

    /// Posts a body to the webhook and returns the HTTP status.
    public typealias Post = @Sendable (_ url: String, _ body: [UInt8]) async throws -> Int

    /// Swapped whole by a config reload; each delivery reads the settings in force.
    private final class Live: Sendable {
        let settings: Mutex<Settings>
        init(_ settings: Settings) { self.settings = Mutex(settings) }
    }
    private let live: Live
    var settings: Settings { live.settings.withLock { $0 } }
    let logger: Logger
    private let post: Post
    private let queue: AsyncStream<NotificationEvent>.Continuation
    private let sentTimes = Mutex<[String: [Int64]]>([:])
    private let worker: Task<Void, Never>

    public init(settings: Settings, logger: Logger, post: @escaping Post) {
        let live = Live(settings)
        self.live = live
        self.logger = logger
        self.post = post
        let (stream, continuation) = AsyncStream.makeStream(of: NotificationEvent.self, bufferingPolicy: .bufferingNewest(1000))
        queue = continuation
        worker = Task { [live, logger, post] in
            for await event in stream { await Self.deliver(event, settings: live.settings.withLock { $0 }, logger: logger, post: post) }
        }
    }

    /// Puts new settings in force (a config reload); queued events are delivered under them.
    func update(_ settings: Settings) { live.settings.withLock { $0 = settings } }

    deinit { queue.finish() }

    /// Logs the event and queues it for the webhook, unless filtered or over its hourly limit.
    public func notify(_ event: NotificationEvent) {
        logger.log(level: event.priority >= .high ? .warning : .notice, "\(event.type): \(event.message)")
        let settings = self.settings
        guard settings.webhook != nil, event.priority >= settings.minimumPriority else { return }
        let now = event.timestampMillis
        let allowed = sentTimes.withLock { times -> Bool in
            var recent = (times[event.type] ?? []).filter { now - $0 < 3_600_000 }
            guard recent.count < settings.perTypePerHour else { return false }
            recent.append(now)
            times[event.type] = recent
            return true
        }
        guard allowed else { return }
        queue.yield(event)
    }

    /// Stops accepting events and waits (bounded) for queued deliveries.
    public func shutdown(within limit: Duration = .seconds(3)) async {
        queue.finish()
        let worker = self.worker
        let timer = Task { try? await Task.sleep(for: limit); worker.cancel() }
        await worker.value
        timer.cancel()
    }

    static func deliver(_ event: NotificationEvent, settings: Settings, logger: Logger, post: Post) async {
        guard let url = settings.webhook else { return }
        var delay = settings.backoff
        for attempt in 1...max(settings.attempts, 1) {
            do {
                let status = try await post(url, event.json)
                if (200..<300).contains(status) { return }
                logger.warning("webhook answered HTTP \(status)", metadata: ["type": .string(event.type), "attempt": "\(attempt)"])
            } catch {
                logger.warning("webhook delivery failed: \(error)", metadata: ["type": .string(event.type), "attempt": "\(attempt)"])
            }
            guard attempt < settings.attempts, !Task.isCancelled else { break }
            try? await Task.sleep(for: delay)
            delay *= 2
        }
        logger.error("webhook event dropped after \(settings.attempts) attempts", metadata: ["type": .string(event.type)])
    }
}
