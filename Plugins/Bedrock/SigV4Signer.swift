/// AWS Signature Version 4 for one set of credentials, region and service. A value type: build
/// it once per channel and sign from any thread.
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// Headers never signed, as botocore: proxies and clients may rewrite them in flight.
    static let unsignedHeaders: Set<String> = ["user-agent", "expect", "x-amzn-trace-id"]

    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    public init(credentials: AWSCredentials, region: String, service: String) throws(SigV4Error) {
        try credentials.validate()
        guard Self.isName(region) else { throw .invalidRegion(region) }
        guard Self.isName(service) else { throw .invalidService(service) }
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs a request; the caller sends `url`, `headers` and `body` unchanged plus
    /// `result.headers`.
    ///
    /// - Parameters:
    ///   - url: absolute, with path and query exactly as they will go on the wire.
    ///   - headers: the request's headers; `Host` is taken from the URL when absent. Any
    ///     `Authorization`, `X-Amz-Date` (and, when this signer adds them, `X-Amz-Security-Token`
    ///     and `X-Amz-Content-SHA256`) given here are ignored: the result replaces them.
    ///   - includeContentSHA256: also add and sign `X-Amz-Content-SHA256` (S3 requires it;
    ///     Bedrock and SageMaker do not).
    public func sign(method: String, url: String, headers: [(String, String)] = [], body: [UInt8],
                     at time: SigningTime, includeContentSHA256: Bool = false) throws(SigV4Error) -> SigV4Signature {
        let parsed = try RequestURL(parsing: url)
        let payloadHash = Hashing.hex(Hashing.sha256(body))

        var added: [(String, String)] = [("X-Amz-Date", time.amzDate)]
        if let token = credentials.sessionToken, !token.isEmpty { added.append(("X-Amz-Security-Token", token)) }
        if includeContentSHA256 { added.append(("X-Amz-Content-SHA256", payloadHash)) }
        let replaced = Set(added.map { $0.0.lowercased() }).union(["authorization"])

        var toSign = headers.filter { !replaced.contains($0.0.lowercased()) && !Self.unsignedHeaders.contains($0.0.lowercased()) }
        if !toSign.contains(where: { $0.0.lowercased() == "host" }) { toSign.append(("host", parsed.hostHeader)) }
        toSign += added

        let canonical = try CanonicalRequest(method: method, url: parsed, headers: toSign, payloadHash: payloadHash,
                                             service: service)
        let scope = "\(time.dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = [Self.algorithm, time.amzDate, scope, Hashing.hex(Hashing.sha256(Array(canonical.text.utf8)))]
            .joined(separator: "\n")
        guard let key = signingKey(dateStamp: time.dateStamp),
              let mac = Hashing.hmacSHA256(key: key, Array(stringToSign.utf8)) else { throw .cryptoFailure }
        let signature = Hashing.hex(mac)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        return SigV4Signature(headers: added + [("Authorization", authorization)], authorization: authorization,
                              signature: signature, credentialScope: scope, canonicalRequest: canonical,
                              stringToSign: stringToSign)
    }

    /// The HMAC chain `"AWS4" + secret` → date → region → service → `aws4_request`. Nil only if
    /// libcrypto fails.
    public func signingKey(dateStamp: String) -> [UInt8]? {
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [dateStamp, region, service, "aws4_request"] {
            guard let next = Hashing.hmacSHA256(key: key, Array(part.utf8)) else { return nil }
            key = next
        }
        return key
    }

    /// Region and service names: lower-case letters, digits and `-`; they appear in the signed
    /// scope and, for regions, in host names.
    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-")
        }
    }
}

/// What signing produced: the headers to add, and the intermediate texts for debugging a 403
/// (AWS's error message quotes the canonical request and string to sign it expected).
public struct SigV4Signature: Sendable {
    /// `X-Amz-Date`, then `X-Amz-Security-Token` and `X-Amz-Content-SHA256` when applicable,
    /// then `Authorization`.
    public var headers: [(name: String, value: String)]
    public var authorization: String
    /// Hex HMAC-SHA256 of the string to sign.
    public var signature: String
    /// `date/region/service/aws4_request`.
    public var credentialScope: String
    public var canonicalRequest: CanonicalRequest
    public var stringToSign: String
}
