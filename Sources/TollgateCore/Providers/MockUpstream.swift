import NIOCore
import NIOHTTP1

/// A `mock` channel: `MockProvider` answers in process, in OpenAI's wire format, and the answer
/// is read like any passthrough answer (so a stream's usage is metered from its bytes).
struct MockUpstream: Upstream {
    func prepare(_ call: UpstreamCall, for modelCall: ModelCall, _ done: @escaping (Result<UpstreamRequest, GatewayError>) -> Void) {
        let request: JSONValue
        do {
            request = try call.body.withUnsafeReadableBytes { raw in try JSONParser.parse(UnsafeRawBufferPointer(raw)) }
        } catch {
            return done(.failure(.badRequest("request body is not valid JSON: \(error)", code: "invalid_json")))
        }
        let answer: (status: Int, contentType: String, body: [UInt8])
        if call.wantsStream {
            // Asked with usage always; the transducer removes it unless the client asked too.
            guard let (events, _) = MockProvider.chatStream(request: request, model: call.model, requestID: modelCall.requestID,
                                                            includeUsage: true) else {
                return done(.failure(.badRequest("'messages' must be a non-empty array", code: "invalid_messages")))
            }
            answer = (200, "text/event-stream", Array(events.joined()))
        } else {
            let reply = call.isChat ? MockProvider.chat(request: request, model: call.model, requestID: modelCall.requestID)
                : MockProvider.embeddings(request: request, model: call.model)
            answer = (reply.status, "application/json", reply.body)
        }
        let head = AnswerHead(status: HTTPResponseStatus(statusCode: answer.status), fields: HeadFields([("content-type", answer.contentType)]))
        let transducer = PassthroughTransducer(stripUsage: call.wantsStream && call.scan.includeUsage != true)
        done(.success(UpstreamRequest(target: .local(head, ByteBuffer(bytes: answer.body)), transducer: transducer)))
    }
}
