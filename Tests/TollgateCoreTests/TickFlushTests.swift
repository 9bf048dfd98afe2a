import NIOCore
import NIOEmbedded
import NIOPosix
import Testing
@testable import TollgateCore

/// `TickFlush` holds written messages until the loop's tick ends, then flushes every connection
/// that wrote, and `TickFlush.Ticks` (SwiftNIO's per-tick delegate) says when a tick ended. The
/// e2e suites cover it through the gateway (test_passthrough: many kept-alive clients at once;
/// test_hostile_network: a half-closing client).
@Suite struct TickFlushTests {
    static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { out.append(String(buffer: buffer)) }
        return out
    }

    @Test func connectionsThatWroteInATickAreFlushedTogetherAtItsEnd() throws {
        let flush = TickFlush()
        let channels = (0..<3).map { _ in EmbeddedChannel() }
        defer { for channel in channels { _ = try? channel.finish() } }

        for (n, channel) in channels.enumerated() {
            channel.write(ByteBuffer(string: "answer \(n)"), promise: nil)
            flush.flushAtTickEnd(channel)
        }
        channels[0].write(ByteBuffer(string: "second answer 0"), promise: nil)
        flush.flushAtTickEnd(channels[0])
        for channel in channels { #expect(try Self.written(channel).isEmpty) }  // the tick goes on

        flush.flushAll()
        #expect(try Self.written(channels[0]) == ["answer 0", "second answer 0"])
        #expect(try Self.written(channels[1]) == ["answer 1"])
        #expect(try Self.written(channels[2]) == ["answer 2"])
        flush.flushAll()  // nothing waits: nothing more is written
        for channel in channels { #expect(try Self.written(channel).isEmpty) }
    }

    /// Writes to another connection while it is flushed (as a handler does when its channel
    /// becomes writable again).
    final class WritesOnFlush: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        let other: EmbeddedChannel
        let flush: TickFlush
        init(other: EmbeddedChannel, flush: TickFlush) { (self.other, self.flush) = (other, flush) }
        func flush(context: ChannelHandlerContext) {
            context.flush()
            other.write(ByteBuffer(string: "written during the flush"), promise: nil)
            flush.flushAtTickEnd(other)
        }
    }

    @Test func whatAFlushMakesAConnectionWriteIsFlushedBeforeTheLoopSleeps() throws {
        let flush = TickFlush()
        let other = EmbeddedChannel()
        let first = EmbeddedChannel(handler: WritesOnFlush(other: other, flush: flush))
        defer { _ = try? first.finish(); _ = try? other.finish() }
        first.write(ByteBuffer(string: "answer"), promise: nil)
        flush.flushAtTickEnd(first)
        flush.flushAll()
        #expect(try Self.written(first) == ["answer"])
        #expect(try Self.written(other) == ["written during the flush"])
    }

    @Test func aConnectionClosedBeforeTheTickEndsIsPassedOver() throws {
        let flush = TickFlush()
        let open = EmbeddedChannel(), closed = EmbeddedChannel()
        defer { _ = try? open.finish() }
        closed.write(ByteBuffer(string: "lost with its connection"), promise: nil)
        flush.flushAtTickEnd(closed)
        open.write(ByteBuffer(string: "kept"), promise: nil)
        flush.flushAtTickEnd(open)
        _ = try? closed.finish()
        flush.flushAll()
        #expect(try Self.written(open) == ["kept"])
    }

    final class Nothing: ChannelInboundHandler, Sendable { typealias InboundIn = ByteBuffer }

    /// Off a gateway loop's thread (this test's) there is no tick to wait for: a message that may
    /// wait is flushed at once, as is one that may not.
    @Test func offALoopsThreadAConnectionFlushesAtOnce() throws {
        let channel = EmbeddedChannel(handler: Nothing())
        defer { _ = try? channel.finish() }
        let context = try channel.pipeline.syncOperations.context(handlerType: Nothing.self)
        #expect(TickFlush.current == nil)
        for atTickEnd in [true, false] {
            channel.write(ByteBuffer(string: "answer"), promise: nil)
            TickFlush.flush(context, atTickEnd: atTickEnd)
            #expect(try Self.written(channel) == ["answer"])
        }
    }

    /// Tells when a connection has received `expected`.
    final class Received: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let expected: String
        let promise: EventLoopPromise<String>
        var bytes = ""
        init(_ expected: String, promise: EventLoopPromise<String>) { (self.expected, self.promise) = (expected, promise) }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += String(buffer: unwrapInboundIn(data))
            if bytes.count >= expected.count { promise.succeed(bytes) }
        }
    }

    /// A real group with `Ticks` as its delegate: each loop's thread has its own flush from its
    /// first tick on, and a message written in a task and left to the tick's end reaches the
    /// other side with nothing else flushing it.
    @Test(.timeLimit(.minutes(1))) func aGroupsLoopsFlushAtTheEndOfEachTick() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2, metricsDelegate: TickFlush.Ticks())
        let loops = Array(group.makeIterator())
        var flushes: [ObjectIdentifier?] = []
        for loop in loops {
            try await loop.submit {}.get()  // a first tick
            flushes.append(try await loop.submit { TickFlush.current.map(ObjectIdentifier.init) }.get())
        }
        #expect(flushes.allSatisfy { $0 != nil } && Set(flushes).count == 2)  // one for each loop
        #expect(TickFlush.current == nil)  // not a loop's thread: connections flush at once

        let message = "held to the tick's end"
        let received = group.next().makePromise(of: String.self)
        let server = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Received(message, promise: received)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = try await ClientBootstrap(group: group).connect(to: server.localAddress!).get()
        try await client.eventLoop.submit {
            client.write(ByteBuffer(string: message), promise: nil)
            TickFlush.current?.flushAtTickEnd(client)
        }.get()
        #expect(try await received.futureResult.get() == message)  // nothing but the tick's end flushed it
        try await client.close()
        try await server.close()
        try await group.shutdownGracefully()
    }
}
