import NIOCore
/// Error bodies in each client dialect.
public enum ErrorBody {
    /// `{"error":{"message":...,"type":...,"code":...}}`, as OpenAI sends.
    public static func openAI(message: String, type: String, code: String?) -> [UInt8] {
        JSONValue.object(["error": .object([
            "message": .string(message), "type": .string(type), "param": .null,
            "code": code.map(JSONValue.string) ?? .null,
        ])]).serialized()
    }

    /// An SSE error event ending a stream that already started.
    public static func openAIStreamEvent(message: String, type: String, code: String?) -> [UInt8] {
        Array("data: ".utf8) + openAI(message: message, type: type, code: code) + Array("\n\n".utf8)
    }
}

/// A failure the gateway answers itself, with its HTTP status and machine-readable code.
public struct GatewayError: Error, Sendable {
    public var status: Int
    public var type: String
    public var code: String
    public var message: String
    /// Extra response headers (e.g. retry-after).
    public var headers: [(String, String)] = []

    public init(status: Int, type: String, code: String, message: String) {
        self.status = status
        self.type = type
        self.code = code
        self.message = message
    }

    public static func badRequest(_ message: String, code: String = "invalid_request") -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: code, message: message)
    }
    public static func unauthorized(_ message: String) -> GatewayError {
        GatewayError(status: 401, type: "authentication_error", code: "invalid_api_key", message: message)
    }
    public static func forbidden(_ message: String) -> GatewayError {
        GatewayError(status: 403, type: "permission_error", code: "model_not_allowed", message: message)
    }
    public static func notFound(_ message: String, code: String = "not_found") -> GatewayError {
        GatewayError(status: 404, type: "invalid_request_error", code: code, message: message)
    }
    public static func badGateway(_ message: String, code: String = "upstream_error") -> GatewayError {
        GatewayError(status: 502, type: "upstream_error", code: code, message: message)
    }
    public static func gatewayTimeout(_ message: String) -> GatewayError {
        GatewayError(status: 504, type: "upstream_error", code: "upstream_timeout", message: message)
    }
    public static func unavailable(_ message: String) -> GatewayError {
        GatewayError(status: 503, type: "service_unavailable", code: "no_channel_available", message: message)
    }
    /// 429 with `retry-after` (whole seconds, at least 1).
    public static func rateLimited(_ message: String, code: String = "rate_limit_exceeded", retryAfter: TimeAmount) -> GatewayError {
        var error = GatewayError(status: 429, type: "rate_limit_error", code: code, message: message)
        error.headers = [("retry-after", String(max(1, (retryAfter.nanoseconds + 999_999_999) / 1_000_000_000)))]
        return error
    }
    public static func internalError(_ message: String) -> GatewayError {
        GatewayError(status: 500, type: "internal_error", code: "internal_error", message: message)
    }

    public var body: [UInt8] { ErrorBody.openAI(message: message, type: type, code: code) }
}
