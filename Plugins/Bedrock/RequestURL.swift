import TollgatePluginKit

/// The parts of an absolute http(s) URL that signing needs, kept exactly as they go on the wire
/// (already percent-encoded): SigV4 signs the wire form, so nothing here decodes.
public struct RequestURL: Sendable, Hashable {
    /// `http` or `https`, lower-cased.
    public var scheme: String
    /// Lower-cased; an IPv6 literal keeps its brackets.
    public var host: String
    public var port: Int?
    /// As on the wire; `/` when the URL has none.
    public var path: String
    /// As on the wire, without the `?`; empty when absent. A fragment is dropped.
    public var query: String

    public init(parsing url: String) throws(SigV4Error) {
        func fail(_ reason: String) -> SigV4Error { .invalidURL(url: url, reason: reason) }
        let bytes = Array(url.utf8)
        if bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) { throw fail("it holds control characters") }
        guard let schemeEnd = ByteSearch.find(Array("://".utf8), in: bytes) else {
            throw fail("it is not absolute (expected http:// or https://)")
        }
        let scheme = String(decoding: bytes[..<schemeEnd], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else { throw fail("the scheme must be http or https") }

        let authorityStart = schemeEnd + 3
        let authorityEnd = bytes[authorityStart...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? bytes.count
        let authority = Array(bytes[authorityStart..<authorityEnd])
        if authority.contains(UInt8(ascii: "@")) { throw fail("user info in the URL is not supported") }

        var hostBytes = authority
        var portBytes: [UInt8]?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw fail("the IPv6 host has no closing ']'") }
            hostBytes = Array(authority[...close])
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { throw fail("unexpected characters after the IPv6 host") }
                portBytes = Array(rest.dropFirst())
            }
            let inner = hostBytes.dropFirst().dropLast()
            guard !inner.isEmpty, inner.allSatisfy({ Self.isHex($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                throw fail("the IPv6 host is malformed")
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            hostBytes = Array(authority[..<colon])
            portBytes = Array(authority[(colon + 1)...])
            guard hostBytes.allSatisfy(Self.isHostByte) else { throw fail("the host holds characters a host name cannot") }
        } else {
            guard hostBytes.allSatisfy(Self.isHostByte) else { throw fail("the host holds characters a host name cannot") }
        }
        guard !hostBytes.isEmpty else { throw fail("the host is empty") }

        var port: Int?
        if let portBytes {
            guard !portBytes.isEmpty, portBytes.count <= 5,
                  portBytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let value = Int(String(decoding: portBytes, as: UTF8.self)), (1...65_535).contains(value) else {
                throw fail("the port must be a number from 1 to 65535")
            }
            port = value
        }

        let rest = bytes[authorityEnd...]
        let fragmentStart = rest.firstIndex(of: UInt8(ascii: "#")) ?? bytes.count
        let beforeFragment = bytes[authorityEnd..<fragmentStart]
        let queryStart = beforeFragment.firstIndex(of: UInt8(ascii: "?"))
        let pathBytes = bytes[authorityEnd..<(queryStart ?? fragmentStart)]
        let queryBytes = queryStart.map { bytes[($0 + 1)..<fragmentStart] } ?? []

        self.scheme = scheme
        self.host = String(decoding: hostBytes, as: UTF8.self).lowercased()
        self.port = port
        self.path = pathBytes.isEmpty ? "/" : String(decoding: pathBytes, as: UTF8.self)
        self.query = String(decoding: queryBytes, as: UTF8.self)
    }

    /// The `Host` header value: the host, with the port only when it is not the scheme's default.
    public var hostHeader: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    private static func isHex(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f"))
    }

    /// Letters, digits, '-', '.', '_': DNS names and IPv4 literals.
    private static func isHostByte(_ b: UInt8) -> Bool {
        PercentEncoding.isUnreserved(b) && b != UInt8(ascii: "~")
    }
}
