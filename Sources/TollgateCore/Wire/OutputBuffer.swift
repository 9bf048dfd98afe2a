import NIOCore

/// A connection's buffer for the messages it writes, reused from one to the next: once the
/// socket has written the last one, nothing else holds it and clearing it allocates nothing (a
/// fresh ByteBuffer is two allocations). While the socket still holds it (a slow reader),
/// clearing copies on write: a new buffer, the queued bytes untouched. Only a small one is kept,
/// so an idle connection holds at most `keptBytes`.
struct OutputBuffer {
    static let keptBytes = 2048
    private var kept: ByteBuffer?

    /// An empty buffer with room for `capacity` bytes.
    mutating func take(_ allocator: ByteBufferAllocator, capacity: Int) -> ByteBuffer {
        guard var buffer = kept.take() else { return allocator.buffer(capacity: capacity) }
        buffer.clear()
        buffer.reserveCapacity(capacity)
        return buffer
    }

    var keepsBuffer: Bool { kept != nil }

    /// Keeps `buffer`, about to be written, for the next message when it is small.
    mutating func keep(_ buffer: ByteBuffer) {
        kept = buffer.capacity <= Self.keptBytes ? buffer : nil
    }
}
