import TollgatePluginKit

/// A request in SigV4's canonical form (AWS's "task 1"): what the signature actually covers.
public struct CanonicalRequest: Sendable, Hashable {
    public struct Header: Sendable, Hashable {
        /// Lower-cased.
        public var name: String
        /// Trimmed, inner runs of spaces and tabs collapsed; repeated headers joined with `,`.
        public var value: String
    }

    /// Upper-cased.
    public var method: String
    public var uri: String
    public var query: String
    /// Sorted by name.
    public var headers: [Header]
    /// Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
    public var payloadHash: String

    /// `name;name;...`, the `SignedHeaders` of the Authorization header.
    public var signedHeaders: String { headers.map(\.name).joined(separator: ";") }

    /// The six parts joined by newlines; each header line ends with its own newline, hence the
    /// blank line before the signed headers list.
    public var text: String {
        let headerLines = headers.map { "\($0.name):\($0.value)\n" }.joined()
        return [method, uri, query, headerLines, signedHeaders, payloadHash].joined(separator: "\n")
    }

    /// - Parameter headers: every header to sign, `Host` and the `X-Amz-*` ones included.
    public init(method: String, url: RequestURL, headers: [(String, String)], payloadHash: String,
                service: String) throws(SigV4Error) {
        let methodBytes = Array(method.utf8)
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(Self.isTokenByte) else { throw .invalidMethod(method) }
        self.method = method.uppercased()
        self.uri = Self.canonicalURI(path: url.path, service: service)
        self.query = Self.canonicalQuery(url.query)
        self.headers = try Self.canonicalHeaders(headers)
        self.payloadHash = payloadHash
    }

    /// S3 signs the path exactly as sent. Every other service signs it normalized (dot segments
    /// and empty segments removed) and URI-encoded once more: the wire path is already encoded,
    /// so `%3A` on the wire becomes `%253A` here.
    static func canonicalURI(path: String, service: String) -> String {
        if service == "s3" { return path.isEmpty ? "/" : path }
        return PercentEncoding.encode(normalizedPath(path), keeping: [UInt8(ascii: "/")])
    }

    /// RFC 3986 dot-segment removal plus dropping empty segments (AWS collapses `//`).
    static func normalizedPath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) where segment != "." {
            if segment == ".." {
                _ = segments.popLast()
            } else {
                segments.append(segment)
            }
        }
        let leading = path.hasPrefix("/") ? "/" : ""
        let trailing = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return leading + segments.joined(separator: "/") + trailing
    }

    /// Parameters sorted by name then value. The query is taken as it goes on the wire (already
    /// encoded) and not re-encoded, as botocore does with a query embedded in the URL; callers
    /// should therefore send a query encoded the SigV4 way (unreserved kept, the rest `%XX`), or
    /// AWS, which re-encodes what it receives, will compute another signature. A parameter
    /// without `=` signs as `name=`; empty `&&` pieces are skipped.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs: [(name: [UInt8], value: [UInt8])] = query.utf8.split(separator: UInt8(ascii: "&")).map { piece in
            if let eq = piece.firstIndex(of: UInt8(ascii: "=")) {
                return (Array(piece[..<eq]), Array(piece[piece.index(after: eq)...]))
            }
            return (Array(piece), [])
        }
        let sorted = pairs.sorted { a, b in
            a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
        }
        return sorted.map { String(decoding: $0.name + [UInt8(ascii: "=")] + $0.value, as: UTF8.self) }
            .joined(separator: "&")
    }

    static func canonicalHeaders(_ headers: [(String, String)]) throws(SigV4Error) -> [Header] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw .invalidHeader(name: name, reason: "the name is empty or holds characters a header name cannot")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .invalidHeader(name: name, reason: "the value holds a line break or NUL")
            }
            let key = name.lowercased()
            if values[key] == nil { order.append(key) }
            values[key, default: []].append(normalizedValue(value))
        }
        return order.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { Header(name: $0, value: values[$0, default: []].joined(separator: ",")) }
    }

    /// Trims and collapses runs of spaces and tabs to one space (including inside quotes, as
    /// AWS's test suite requires).
    static func normalizedValue(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for b in value.utf8 {
            if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(UInt8(ascii: " ")) }
                pendingSpace = false
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// RFC 9110 token characters.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "^"), UInt8(ascii: "`"),
             UInt8(ascii: "|"):
            true
        default:
            PercentEncoding.isUnreserved(b)
        }
    }
}
