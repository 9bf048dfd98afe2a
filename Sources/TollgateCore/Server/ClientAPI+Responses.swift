import NIOCore
import NIOHTTP1

/// Paths after a passthrough channel's base for the routes it serves at their own path.
enum ClientRoutes {
    static let responses = "/responses"
    static let completions = "/completions"
}

/// `GET` and `DELETE /v1/responses/{id}`: Responses answers the gateway converted and stored.
enum StoredResponseRoute {
    static let prefix = "/v1/responses/"
}

extension ClientAPI {
    /// `GET` answers the stored Response object, `DELETE` removes it; either 404 for an id this
    /// key did not create.
    func storedResponse(head: RequestHead, id: Substring) throws {
        let key = try authenticate(head, keys: runtime.snapshot.keys)
        guard head.method == .GET || head.method == .DELETE else {
            throw GatewayError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                               message: "\(head.method.rawValue) is not allowed on \(StoredResponseRoute.prefix){id}")
        }
        let id = String(id)
        guard !id.isEmpty, !id.contains("/"), let keeper = runtime.responses, let loop = handler.eventLoop else {
            throw Self.responseNotFound(id, previous: false)
        }
        let deleting = head.method == .DELETE
        let answer = loop.makePromise(of: [UInt8]?.self)
        answer.completeWithTask {
            if deleting {
                guard try await keeper.delete(id: id, key: key.name) else { return nil }
                return JSONValue.object(["id": .string(id), "object": .string("response"), "deleted": .bool(true)]).serialized()
            }
            return try await keeper.find(id: id, key: key.name)?.response
        }
        answer.futureResult.whenComplete { [self] result in
            run {
                switch result {
                case .success(let body?):
                    handler.writeJSON(status: 200, body: body)
                    handler.requestEnded(status: 200)
                case .success(nil): throw Self.responseNotFound(id, previous: false)
                case .failure(let error): throw GatewayError.unavailable("cannot read stored responses: \(error)")
                }
            }
        }
    }

    static func responseNotFound(_ id: String, previous: Bool) -> GatewayError {
        GatewayError(status: 404, type: "invalid_request_error", code: previous ? "previous_response_not_found" : "response_not_found",
                     message: "\(previous ? "Previous response" : "Response") with id '\(id)' not found.")
    }
}
