import NIOCore

/// Flushes, at the end of the event loop's tick, every connection that wrote a whole message
/// during it (Netty's flush consolidation, across connections). A loop's tick handles all the
/// sockets that were ready at once; flushed one by one, each answer's send found its reader (the
/// client, the upstream) asleep again and paid to wake it. Sent together they wake it once. The
/// tick's other work is all that an answer waits for: with one ready socket, nothing. One per
/// event loop, touched only on its loop.
final class TickFlush: @unchecked Sendable {
    private let loop: EventLoop
    private var waiting: [Channel] = []
    private var flushing: [Channel] = []
    /// Made once: a closure per tick would be an allocation.
    private var flushAll: (() -> Void)!

    init(loop: EventLoop) {
        self.loop = loop
        flushAll = { [unowned self] in
            swap(&waiting, &flushing)
            for channel in flushing { channel.flush() }
            flushing.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes `channel`'s written messages once the loop's tick has handled its other sockets.
    func flushAtTickEnd(_ channel: Channel) {
        waiting.append(channel)
        if waiting.count == 1 { loop.execute(flushAll) }
    }
}
