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
        var url = url
        return url.withUTF8 { parse($0) }
    }

    /// The same over the URL's bytes (the delimiters are ASCII): plugins build a URL for every
    /// request, and walking a String's indexes cost several thousand instructions a request.
    private static func parse(_ url: UnsafeBufferPointer<UInt8>) -> (endpoint: UpstreamEndpoint, path: String)? {
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: url[range]), as: UTF8.self) }
        let tls = UnsafeRawBufferPointer(url).hasPrefix("https://")
        guard tls || UnsafeRawBufferPointer(url).hasPrefix("http://") else { return nil }
        let start = tls ? 8 : 7
        let authorityEnd = url[start...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? url.count
        // Userinfo (up to the last '@') is no part of the endpoint.
        var host = (url[start..<authorityEnd].lastIndex(of: UInt8(ascii: "@")).map { $0 + 1 } ?? start)..<authorityEnd
        var port = tls ? 443 : 80
        if host.lowerBound < authorityEnd, url[host.lowerBound] == UInt8(ascii: "[") {
            guard let close = url[host].firstIndex(of: UInt8(ascii: "]")) else { return nil }
            if close + 1 < authorityEnd, url[close + 1] == UInt8(ascii: ":") {
                guard let p = Int(text(close + 2..<authorityEnd)) else { return nil }
                port = p
            }
            host = host.lowerBound + 1..<close
        } else if let colon = url[host].lastIndex(of: UInt8(ascii: ":")) {
            guard let p = Int(text(colon + 1..<authorityEnd)) else { return nil }
            port = p
            host = host.lowerBound..<colon
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        let rest = text(authorityEnd..<url.count)
        let path = rest.isEmpty ? "/" : url[authorityEnd] == UInt8(ascii: "?") ? "/" + rest : rest
        return (UpstreamEndpoint(tls: tls, host: text(host), port: port), path)
    }
}
