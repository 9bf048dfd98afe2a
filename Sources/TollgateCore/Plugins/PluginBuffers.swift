#if canImport(Glibc)
import Glibc
#endif
import TollgatePluginABI

/// Helpers for the ABI's byte types. Views borrow Swift memory for the duration of a call only.
extension tollgate_type_bytes {
    static var empty: tollgate_type_bytes { tollgate_type_bytes(ptr: nil, len: 0) }
}

/// Runs `body` with a borrowed view of `bytes`.
func withBytesView<R>(_ bytes: [UInt8], _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    try bytes.withUnsafeBufferPointer { buffer in
        try body(tollgate_type_bytes(ptr: buffer.baseAddress, len: buffer.count))
    }
}

func withBytesView<R>(_ text: String, _ body: (tollgate_type_bytes) throws -> R) rethrows -> R {
    try withBytesView(Array(text.utf8), body)
}

extension tollgate_type_bytes {
    var array: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: len))
    }
    var string: String { String(decoding: array, as: UTF8.self) }
}

extension tollgate_type_buffer {
    static var empty: tollgate_type_buffer { tollgate_type_buffer(ptr: nil, len: 0) }
    var array: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: len))
    }
    var string: String { String(decoding: array, as: UTF8.self) }

    /// A malloc'd copy of `bytes`, for buffers the host hands to a plugin.
    static func allocate(_ bytes: [UInt8]) -> tollgate_type_buffer {
        guard !bytes.isEmpty, let memory = malloc(bytes.count)?.assumingMemoryBound(to: UInt8.self) else { return .empty }
        bytes.withUnsafeBufferPointer { memory.initialize(from: $0.baseAddress!, count: bytes.count) }
        return tollgate_type_buffer(ptr: memory, len: bytes.count)
    }
}

/// Reads a C string the plugin owns, bounded so a missing NUL cannot run away.
func boundedCString(_ pointer: UnsafePointer<CChar>?, limit: Int = 256) -> String? {
    guard let pointer else { return nil }
    var length = 0
    while length < limit && pointer[length] != 0 { length += 1 }
    guard length < limit else { return nil }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
}

extension tollgate_status {
    var name: String {
        switch self {
        case TOLLGATE_OK: "ok"
        case TOLLGATE_ERR_INVALID_INPUT: "invalid_input"
        case TOLLGATE_ERR_UNSUPPORTED: "unsupported"
        case TOLLGATE_ERR_UPSTREAM: "upstream"
        case TOLLGATE_ERR_CONFIG: "config"
        case TOLLGATE_ERR_AUTH: "auth"
        case TOLLGATE_ERR_INTERNAL: "internal"
        default: "status \(rawValue)"
        }
    }
}
