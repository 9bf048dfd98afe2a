import TollgatePluginKit

/// Amazon Bedrock runtime: where the model calls go and how their paths are built.
public enum BedrockRuntime {
    /// The SigV4 service name.
    public static let service = "bedrock"

    public enum Operation: String, Sendable, CaseIterable {
        case converse
        case converseStream = "converse-stream"
        case invoke
        case invokeWithResponseStream = "invoke-with-response-stream"
        case countTokens = "count-tokens"

        public var isStreaming: Bool { self == .converseStream || self == .invokeWithResponseStream }
    }

    /// `https://bedrock-runtime.{region}.amazonaws.com` (`.amazonaws.com.cn` in China regions).
    public static func endpoint(region: String) throws(SigV4Error) -> String {
        try AWSEndpoint.url(prefix: "bedrock-runtime", region: region)
    }

    /// `/model/{id}/{operation}`, the id percent-encoded as AWS SDKs send it: every byte but the
    /// unreserved ones, so `…-v1:0` becomes `…-v1%3A0` and an ARN's `/` becomes `%2F`.
    public static func path(modelID: String, operation: Operation) throws(SigV4Error) -> String {
        guard !modelID.isEmpty else { throw .invalidResourceName(kind: "Bedrock model id", reason: "it is empty") }
        return "/model/\(PercentEncoding.encode(modelID))/\(operation.rawValue)"
    }

    public static func url(region: String, modelID: String, operation: Operation) throws(SigV4Error) -> String {
        try endpoint(region: region) + path(modelID: modelID, operation: operation)
    }
}

/// Amazon SageMaker runtime: endpoint invocations.
public enum SageMakerRuntime {
    /// The SigV4 service name.
    public static let service = "sagemaker"

    public enum Operation: String, Sendable, CaseIterable {
        case invocations
        case invocationsResponseStream = "invocations-response-stream"

        public var isStreaming: Bool { self == .invocationsResponseStream }
    }

    /// `https://runtime.sagemaker.{region}.amazonaws.com` (`.amazonaws.com.cn` in China regions).
    public static func endpoint(region: String) throws(SigV4Error) -> String {
        try AWSEndpoint.url(prefix: "runtime.sagemaker", region: region)
    }

    /// `/endpoints/{name}/{operation}`, the name percent-encoded like a Bedrock model id.
    public static func path(endpointName: String, operation: Operation) throws(SigV4Error) -> String {
        guard !endpointName.isEmpty else { throw .invalidResourceName(kind: "SageMaker endpoint name", reason: "it is empty") }
        return "/endpoints/\(PercentEncoding.encode(endpointName))/\(operation.rawValue)"
    }

    public static func url(region: String, endpointName: String, operation: Operation) throws(SigV4Error) -> String {
        try endpoint(region: region) + path(endpointName: endpointName, operation: operation)
    }
}

enum AWSEndpoint {
    /// The region is checked before it becomes part of a host name.
    static func url(prefix: String, region: String) throws(SigV4Error) -> String {
        guard SigV4Signer.isName(region) else { throw .invalidRegion(region) }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "https://\(prefix).\(region).\(suffix)"
    }
}
