import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Runs `body` with a borrowed view of the buffer's readable bytes, in place (valid only during
/// the call): bodies cross the ABI without being copied into arrays first.
func withBytesView<R>(_ buffer: ByteBuffer, _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    try buffer.withUnsafeReadableBytes { try body(tollgate_type_bytes($0)) }
}

