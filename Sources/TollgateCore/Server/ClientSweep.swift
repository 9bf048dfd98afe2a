import NIOCore

/// Closes client connections that take too long to send a request (slowloris: headers or a body
/// dribbled a byte at a time, or a connection opened and left silent). One per event loop,
/// touched only on its loop; the connections' handlers register themselves while active. A
/// periodic check instead of a timer per request keeps the hot path free of timer churn.
final class ClientSweep: @unchecked Sendable {
    private var handlers: [ObjectIdentifier: RequestHandler] = [:]
    let timeout: TimeAmount

    init(loop: EventLoop, timeout: TimeAmount) {
        self.timeout = timeout
        // Checked four times per timeout (at most once a second): a timeout fires up to 25% late.
        let interval = TimeAmount.nanoseconds(max(10_000_000, min(1_000_000_000, timeout.nanoseconds / 4)))
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in self?.check() }
    }

    func add(_ handler: RequestHandler) { handlers[ObjectIdentifier(handler)] = handler }
    func remove(_ handler: RequestHandler) { handlers[ObjectIdentifier(handler)] = nil }

    private func check() {
        guard !handlers.isEmpty else { return }
        let cutoff = NIODeadline.now() - timeout
        for handler in handlers.values {
            if let since = handler.waitingSince, since <= cutoff { handler.requestTimedOut() }
        }
    }
}
