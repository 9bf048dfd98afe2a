/// Where an upstream lives: scheme, host and port (the pool key), and the rest of a URL.
public struct UpstreamEndpoint: Hashable, Sendable, CustomStringConvertible {
    public var tls: Bool
    public var host: String
    public var port: Int

    /// The `Host` header value (port omitted when it is the scheme's default).
    public var hostHeader: String {
        // Built per plugin request: a byte search and joins (a short result stays inline), not
        // Foundation's contains or interpolation, which allocate.
        let bracketed = host.utf8.contains(UInt8(ascii: ":")) ? "[" + host + "]" : host
        return port == (tls ? 443 : 80) ? bracketed : bracketed + ":" + String(port)
    }

    public var description: String { "\(tls ? "https" : "http")://\(hostHeader)" }

    /// Splits an absolute http(s) URL into its endpoint and its path with query ("/" at least).
    public static func parse(_ url: String) -> (endpoint: UpstreamEndpoint, path: String)? {
        let tls: Bool
        var rest: Substring
        if url[...].hasBytePrefix("https://") { tls = true; rest = url.dropFirst(8) }
        else if url[...].hasBytePrefix("http://") { tls = false; rest = url.dropFirst(7) }
        else { return nil }
        // Searched as bytes (the delimiters are ASCII): plugins build a URL for every request.
        let authorityEnd = rest.utf8.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if let at = authority.utf8.lastIndex(of: UInt8(ascii: "@")) { authority = authority[authority.utf8.index(after: at)...] }
        var host = authority
        var port = tls ? 443 : 80
        if authority.utf8.first == UInt8(ascii: "[") {
            guard let close = authority.utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[authority.utf8.index(after: authority.startIndex)..<close]
            let after = authority[authority.utf8.index(after: close)...]
            if after.utf8.first == UInt8(ascii: ":") {
                guard let p = Int(after.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = authority.utf8.lastIndex(of: UInt8(ascii: ":")) {
            guard let p = Int(authority[authority.utf8.index(after: colon)...]) else { return nil }
            port = p
            host = authority[..<colon]
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        var path = String(rest)
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        return (UpstreamEndpoint(tls: tls, host: String(host), port: port), path)
    }
}

extension String {
    /// Header-name comparison without allocating a lower-cased copy (`other` is lower case).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        utf8.count == other.utf8.count && hasPrefixIgnoringASCIICase(other)
    }

    /// Whether the name starts with `prefix` (lower case), ignoring ASCII case, without a copy.
    /// Native strings are compared over their bytes in place (a zip of the two views cost ten
    /// times as much, on every header of every answer).
    func hasPrefixIgnoringASCIICase(_ prefix: String) -> Bool {
        func matches(_ name: UnsafeBufferPointer<UInt8>, _ prefix: UnsafeBufferPointer<UInt8>) -> Bool {
            guard name.count >= prefix.count else { return false }
            for i in 0..<prefix.count {
                let a = name[i], b = prefix[i]
                if a != b && !(a >= 0x41 && a <= 0x5A && a | 0x20 == b) { return false }
            }
            return true
        }
        let inPlace = utf8.withContiguousStorageIfAvailable { name in prefix.utf8.withContiguousStorageIfAvailable { matches(name, $0) } }
        if let inPlace = inPlace ?? nil { return inPlace }
        let name = Array(utf8), lowered = Array(prefix.utf8)  // a bridged string: copied first
        return name.withUnsafeBufferPointer { name in lowered.withUnsafeBufferPointer { matches(name, $0) } }
    }
}
