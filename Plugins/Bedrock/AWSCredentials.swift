/// Static AWS credentials: a long-term key pair, or temporary ones with a session token.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Sent as `X-Amz-Security-Token` and signed; an empty token counts as none (as botocore does).
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken?.isEmpty == true ? nil : sessionToken
    }

    /// Refuses credentials that could only produce a signature AWS rejects, with a clear reason
    /// instead of an opaque 403 later.
    func validate() throws(SigV4Error) {
        if accessKeyID.isEmpty { throw .emptyAccessKeyID }
        if accessKeyID.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") }) {
            throw .invalidAccessKeyID
        }
        if secretAccessKey.isEmpty { throw .emptySecretAccessKey }
        if let token = sessionToken, token.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
            throw .invalidHeader(name: "X-Amz-Security-Token", reason: "the session token holds a line break or NUL")
        }
    }
}
