import TollgatePluginKit

/// Mints the signed JWT that a service account trades for an access token (Google's OAuth 2.0
/// "JWT bearer" flow, RFC 7523): RS256, `kid` = the key's id, claims iss/scope/aud/iat/exp.
public struct JWTSigner: Sendable {
    public static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
    /// Google refuses assertions valid for longer than an hour.
    public static let lifetimeSeconds: Int64 = 3600

    public let account: ServiceAccount
    public let scope: String
    private let key: RSASigningKey

    /// Parses the account's private key now, so a bad key fails at configuration time.
    public init(account: ServiceAccount, scope: String = JWTSigner.cloudPlatformScope) throws(PluginError) {
        self.account = account
        self.scope = scope
        self.key = try RSASigningKey(pem: account.privateKeyPEM)
    }

    /// `base64url(header).base64url(claims).base64url(signature)`, valid from `issuedAt` (Unix
    /// seconds) for one hour; `aud` is the token URI the assertion will be posted to.
    public func assertion(issuedAt: Int64) throws(PluginError) -> String {
        let header = JSONValue.object([
            "alg": .string("RS256"), "typ": .string("JWT"), "kid": .string(account.privateKeyID),
        ])
        let claims = JSONValue.object([
            "iss": .string(account.clientEmail),
            "scope": .string(scope),
            "aud": .string(account.tokenURI),
            "iat": .int(issuedAt),
            "exp": .int(issuedAt + JWTSigner.lifetimeSeconds),
        ])
        let signingInput = Base64.urlEncoded(header.serialized()) + "." + Base64.urlEncoded(claims.serialized())
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64.urlEncoded(signature)
    }
}
