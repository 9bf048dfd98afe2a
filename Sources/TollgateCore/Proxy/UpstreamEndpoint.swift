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
