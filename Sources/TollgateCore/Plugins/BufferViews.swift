import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Runs `body` with a borrowed view of the buffer's readable bytes, in place (valid only during
/// the call): bodies cross the ABI without being copied into arrays first.
func withBytesView<R>(_ buffer: ByteBuffer, _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    try buffer.withUnsafeReadableBytes { try body(tollgate_type_bytes($0)) }
}

extension HeaderLines {
    /// An upstream head as the ABI's lines with lower-case names, written straight from the head.
    static func lowercased(_ headers: HTTPHeaders) -> [UInt8] {
        format(headers.lazy.map { ($0.name, $0.value) }, lowercasingNames: true)
    }
}
