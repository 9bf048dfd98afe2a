#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TollgatePluginKit

/// Reads a service-account key file named in a channel's settings, once, when the channel is
/// created (the kit avoids Foundation, so this is stdio). Key files are a few kilobytes; anything
/// past `maxBytes` is not one.
enum KeyFile {
    static let maxBytes = 1 << 20

    static func read(_ path: String, field: String) throws(PluginError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw PluginError(.config, "\(field): cannot open \"\(path)\": \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            bytes += buffer[..<count]
            if bytes.count > maxBytes { throw PluginError(.config, "\(field): \"\(path)\" is larger than a key file (over \(maxBytes) bytes)") }
            if count < buffer.count {
                if ferror(file) != 0 { throw PluginError(.config, "\(field): cannot read \"\(path)\"") }
                return bytes
            }
        }
    }
}
