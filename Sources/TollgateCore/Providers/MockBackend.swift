import NIOCore
import NIOHTTP1

/// Answers a model call on a `mock` channel from `MockProvider`, without any network.
struct MockBackend {
    let handler: RequestHandler

    func serve(_ call: ModelCall) throws {
        let request: JSONValue
        do {
            request = try call.body.withUnsafeReadableBytes { raw in try JSONParser.parse(UnsafeRawBufferPointer(raw)) }
        } catch {
            throw GatewayError.badRequest("request body is not valid JSON: \(error)", code: "invalid_json")
        }
        handler.markFirstByte()
        let channel = call.channel.name
        if call.wantsStream {
            guard let (events, usage) = MockProvider.chatStream(request: request, model: call.model, requestID: handler.requestID,
                                                                includeUsage: call.scan.includeUsage ?? false) else {
                throw GatewayError.badRequest("'messages' must be a non-empty array", code: "invalid_messages")
            }
            var headers = HTTPHeaders([("content-type", "text/event-stream"), ("cache-control", "no-cache")])
            handler.addGatewayHeaders(&headers, channel: channel)
            handler.writeHead(status: .ok, headers: headers)
            for event in events { handler.writeBody(event) }
            handler.writeEnd()
            handler.requestEnded(status: 200, channel: channel, usage: usage)
            return
        }
        let answer = call.isChat
            ? MockProvider.chat(request: request, model: call.model, requestID: handler.requestID)
            : MockProvider.embeddings(request: request, model: call.model)
        handler.settle(answer.usage)
        handler.writeJSON(status: answer.status, body: answer.body, channel: channel)
        handler.requestEnded(status: answer.status, channel: channel, usage: answer.usage)
    }
}
