import Glibc
import NIOCore
import NIOPosix

/// Flushes, at the end of the event loop's tick, every connection that wrote a whole message
/// during it (Netty's flush consolidation, across connections). A loop's tick handles all the
/// sockets that were ready at once; flushed one by one, each answer's send found its reader (the
/// client, the upstream) asleep again and paid to wake it. Sent together they wake it once. The
/// tick's other work is all that an answer waits for: with one ready socket, nothing. One per
/// event-loop thread, touched only there: `Ticks` makes it and tells it when a tick ends.
final class TickFlush {
    private var waiting: [Channel] = []
    private var flushing: [Channel] = []

    /// Flushes `channel`'s written messages once the loop's tick has handled its other sockets.
    func flushAtTickEnd(_ channel: Channel) { waiting.append(channel) }

    /// Flushes `context`'s connection with the tick's other sends when its message may wait
    /// (`atTickEnd`) and this is a gateway loop's thread, else now.
    static func flush(_ context: ChannelHandlerContext, atTickEnd: Bool) {
        guard atTickEnd, let current else { return context.flush() }
        current.flushAtTickEnd(context.channel)
    }

    /// The tick ended. A flush can make a connection write again (writability regained): that is
    /// flushed too, before the loop sleeps.
    func flushAll() {
        while !waiting.isEmpty {
            swap(&waiting, &flushing)
            for channel in flushing { channel.flush() }
            flushing.removeAll(keepingCapacity: true)
        }
    }

    /// The calling thread's: its event loop ends each tick through `Ticks`. Nil on any other
    /// thread (another group's loop, a test's): a connection there flushes at once.
    static var current: TickFlush? {
        pthread_getspecific(slot).map { Unmanaged<TickFlush>.fromOpaque($0).takeUnretainedValue() }
    }

    /// A thread's `TickFlush`, retained by the slot and released when the thread ends.
    private static let slot: pthread_key_t = {
        var key = pthread_key_t()
        let made = pthread_key_create(&key) { $0.map { Unmanaged<TickFlush>.fromOpaque($0).release() } }
        precondition(made == 0, "no thread-specific key for the tick flushes (pthread_key_create: \(made))")
        return key
    }()

    /// A group's loops end each tick here: SwiftNIO calls its metrics delegate on the loop's
    /// thread once the tick's events and tasks are done (two clock reads a tick; a task scheduled
    /// to flush cost about 2,800 instructions). A loop's first tick makes its `TickFlush`.
    struct Ticks: NIOEventLoopMetricsDelegate {
        func processedTick(info: NIOEventLoopTickInfo) {
            if let flush = TickFlush.current { return flush.flushAll() }
            pthread_setspecific(TickFlush.slot, Unmanaged.passRetained(TickFlush()).toOpaque())
        }
    }
}
