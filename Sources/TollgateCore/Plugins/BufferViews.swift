import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// Runs `body` with a borrowed view of the buffer's readable bytes, in place (valid only during
/// the call): bodies cross the ABI without being copied into arrays first.
func withBytesView<R>(_ buffer: ByteBuffer, _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    try buffer.withUnsafeReadableBytes { raw in
        try body(tollgate_type_bytes(ptr: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), len: raw.count))
    }
}

extension HeaderLines {
    /// An upstream head as the ABI's lines with lower-case names (what plugins compare), written
    /// straight from the head.
    static func lowercased(_ headers: HTTPHeaders) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 })
        for (name, value) in headers {
            for byte in name.utf8 { out.append(byte &- 0x41 < 26 ? byte | 0x20 : byte) }
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        return out
    }
}
