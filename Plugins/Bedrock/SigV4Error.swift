/// Why a request could not be signed (or an AWS endpoint could not be built).
public enum SigV4Error: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyAccessKeyID
    case invalidAccessKeyID
    case emptySecretAccessKey
    case invalidRegion(String)
    case invalidService(String)
    case invalidMethod(String)
    case invalidURL(url: String, reason: String)
    case invalidHeader(name: String, reason: String)
    case invalidResourceName(kind: String, reason: String)
    /// libcrypto failed to compute an HMAC (should not happen).
    case cryptoFailure

    public var description: String {
        switch self {
        case .emptyAccessKeyID: "AWS credentials: the access key id is empty"
        case .invalidAccessKeyID: "AWS credentials: the access key id holds whitespace, '/' or control characters"
        case .emptySecretAccessKey: "AWS credentials: the secret access key is empty"
        case .invalidRegion(let region): "AWS region \"\(region)\" is not valid (expected lower-case letters, digits and '-', e.g. us-east-1)"
        case .invalidService(let service): "AWS service name \"\(service)\" is not valid (expected lower-case letters, digits and '-')"
        case .invalidMethod(let method): "HTTP method \"\(method)\" is not valid"
        case .invalidURL(let url, let reason): "URL \"\(url)\" cannot be signed: \(reason)"
        case .invalidHeader(let name, let reason): "header \"\(name)\" cannot be signed: \(reason)"
        case .invalidResourceName(let kind, let reason): "\(kind) is not valid: \(reason)"
        case .cryptoFailure: "libcrypto failed to compute HMAC-SHA256"
        }
    }
}
