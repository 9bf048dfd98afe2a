/// Google's error shape: `{"error":{"code":404,"message":"...","status":"NOT_FOUND"}}`.
enum GoogleErrorBody {
    static func status(for code: Int) -> String {
        switch code {
        case 400, 413: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 402, 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 501: "UNIMPLEMENTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "INTERNAL"
        }
    }

    static func object(status: Int, message: String) -> JSONValue {
        .object(["error": .object(["code": .int(status), "message": .string(message), "status": .string(Self.status(for: status))])])
    }

    static func body(status: Int, message: String) -> [UInt8] { object(status: status, message: message).serialized() }

    static func event(status: Int, message: String) -> [UInt8] {
        Array("data: ".utf8) + body(status: status, message: message) + Array("\r\n\r\n".utf8)
    }
}
