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
    /// A converted Responses request: its internal form (after the stored conversation it
    /// continues, if any), and the translator that writes its answer, which also stores the
    /// finished answer unless the client said `store: false`.
    func responsesToIR(_ original: JSONValue, model: String) throws -> JSONValue {
        var history: [JSONValue] = []
        if let previous = original["previous_response_id"], !previous.isNull {
            guard let id = previous.stringValue, let found = handler.previousResponse, found.id == id, let stored = found.stored else {
                throw Self.responseNotFound(previous.stringValue ?? previous.jsonString, previous: true)
            }
            history = (try? JSONParser.parse(stored.conversation))?.arrayValue ?? []
        }
        let ir = try ResponsesRequest.toIR(original, history: history)
        let translator = ResponsesTranslator(model: model, echo: ResponsesRequest.echo(original))
        if original["store"]?.boolValue != false, let keeper = runtime.responses, let key = handler.keyName {
            let id = translator.responseID
            let turn = history + (try ResponsesRequest.inputMessages(original["input"]))
            translator.onFinished = { response, output in
                let answer = (try? ResponsesRequest.inputMessages(.array(output))) ?? []
                keeper.save(id: id, key: key, response: response, conversation: turn + answer)
            }
        }
        handler.translator = translator
        return ir
    }

    /// A Responses request naming `previous_response_id` first looks the response up (this
    /// instance's unwritten saves, then storage); routing goes on once it is known. The lookup is
    /// made whatever the channel: an `openai` channel passes the id on to its own upstream.
    func afterPreviousResponse(body: ByteBuffer, key: String, _ proceed: @escaping () throws -> Void) throws {
        guard handler.dialect == .responses, let keeper = runtime.responses,
              let id = body.withUnsafeReadableBytes({ RequestScan.member("previous_response_id", in: $0) })?.stringValue,
              let loop = handler.eventLoop else {
            return try proceed()
        }
        let bound = NIOLoopBound(proceed, eventLoop: loop)
        let lookup = loop.makePromise(of: StoredResponse?.self)
        lookup.completeWithTask { try await keeper.find(id: id, key: key) }
        lookup.futureResult.whenComplete { [self] result in
            run {
                switch result {
                case .success(let stored): handler.previousResponse = (id, stored)
                case .failure(let error): throw GatewayError.unavailable("cannot read stored responses: \(error)")
                }
                try bound.value()
            }
        }
    }

    /// `GET` answers the stored Response object, `DELETE` removes it; either 404 for an id this
    /// key did not create.
    func storedResponse(head: HTTPRequestHead, id: Substring) throws {
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
                    handler.requestEnded(status: 200, channel: nil, usage: TokenUsage())
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
