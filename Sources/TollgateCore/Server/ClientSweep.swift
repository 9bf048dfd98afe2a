import NIOCore

/// Closes client connections that take too long to send a request (slowloris: headers or a body
/// dribbled a byte at a time, or a connection opened and left silent) and keep-alive connections
/// idle past `limits.keep_alive_timeout`. One per event loop, touched only on its loop; the
/// connections' handlers register themselves while active. A periodic check instead of a timer
/// per request keeps the hot path free of timer churn.
final class ClientSweep: @unchecked Sendable {
    private var handlers: [ObjectIdentifier: RequestHandler] = [:]
    let timeout: TimeAmount
    let keepAlive: TimeAmount

    init(loop: EventLoop, timeout: TimeAmount, keepAlive: TimeAmount) {
        self.timeout = timeout
        self.keepAlive = keepAlive
        // Checked four times per (shorter) timeout, at most once a second: a timeout fires up to 25% late.
        let interval = TimeAmount.nanoseconds(max(10_000_000, min(1_000_000_000, min(timeout, keepAlive).nanoseconds / 4)))
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in self?.check() }
    }

    func add(_ handler: RequestHandler) { handlers[ObjectIdentifier(handler)] = handler }
    func remove(_ handler: RequestHandler) { handlers[ObjectIdentifier(handler)] = nil }

    private func check() {
        guard !handlers.isEmpty else { return }
        let now = NIODeadline.now()
        let requestCutoff = now - timeout, idleCutoff = now - keepAlive
        for handler in handlers.values {
            guard let since = handler.waitingSince else { continue }
            if since <= requestCutoff || (handler.isIdle && since <= idleCutoff) { handler.requestTimedOut() }
        }
    }
}
