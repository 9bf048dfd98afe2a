import NIOCore
import NIOEmbedded
import Testing
@testable import TollgateCore

/// `TickFlush` holds written messages until the loop's tick has handled its other sockets, then
/// flushes every connection that wrote, once, in one task. The e2e suites cover it end to end
/// (test_passthrough: many kept-alive clients at once; test_hostile_network: a half-closing client).
@Suite struct TickFlushTests {
    static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    @Test func connectionsThatWroteInATickAreFlushedTogetherAtItsEnd() throws {
        let loop = EmbeddedEventLoop()
        let flush = TickFlush(loop: loop)
        let channels = (0..<3).map { _ in EmbeddedChannel(loop: loop) }
        defer { for channel in channels { _ = try? channel.finish() } }

        for (n, channel) in channels.enumerated() {
            channel.write(ByteBuffer(string: "answer \(n)"), promise: nil)
            flush.flushAtTickEnd(channel)
        }
        channels[0].write(ByteBuffer(string: "second answer 0"), promise: nil)
        flush.flushAtTickEnd(channels[0])
        for channel in channels { #expect(try Self.written(channel).isEmpty) }  // the tick goes on

        loop.run()  // the tick's end: its tasks
        #expect(try Self.written(channels[0]) == ["answer 0", "second answer 0"])
        #expect(try Self.written(channels[1]) == ["answer 1"])
        #expect(try Self.written(channels[2]) == ["answer 2"])

        // The next tick starts afresh: a write then is held for that tick's end, and flushed once.
        channels[1].write(ByteBuffer(string: "next"), promise: nil)
        flush.flushAtTickEnd(channels[1])
        #expect(try Self.written(channels[1]).isEmpty)
        loop.run()
        #expect(try Self.written(channels[1]) == ["next"])
        loop.run()
        #expect(try Self.written(channels[1]).isEmpty)
    }

    @Test func aConnectionClosedBeforeTheTickEndsIsPassedOver() throws {
        let loop = EmbeddedEventLoop()
        let flush = TickFlush(loop: loop)
        let open = EmbeddedChannel(loop: loop), closed = EmbeddedChannel(loop: loop)
        defer { _ = try? open.finish() }
        closed.write(ByteBuffer(string: "lost with its connection"), promise: nil)
        flush.flushAtTickEnd(closed)
        open.write(ByteBuffer(string: "kept"), promise: nil)
        flush.flushAtTickEnd(open)
        _ = try? closed.finish()
        loop.run()
        #expect(try Self.written(open) == ["kept"])
    }
}
