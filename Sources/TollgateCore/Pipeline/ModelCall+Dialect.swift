import NIOCore
import TollgatePluginABI

/// The call in the dialect its channel takes, and the translator that writes the answer back in
/// the client's.
extension ModelCall {
    /// A call in another dialect goes on as it is when its channel takes that dialect (the
    /// provider's own); otherwise its body is converted to the internal dialect and a translator
    /// converts the answer back.
    func inChannelDialect(_ call: UpstreamCall) throws -> UpstreamCall {
        guard dialect != .openAI else { return call }
        if dialect == .responses, let upstreamPath = call.channel.ownResponsesPath {
            return call.with(upstreamPath: upstreamPath)
        }
        // A Gemini stream without alt=sse is a JSON array; upstreams are always asked for SSE, so
        // such a stream is converted rather than passed through.
        let arrayStream = dialect == .gemini(sse: false) && call.wantsStream
        if !arrayStream, dialect != .responses, case .plugin(let plugin) = call.channel.backend,
           plugin.accepts(dialect.abi, model: call.upstreamModel) {
            return call
        }
        let original: JSONValue
        do {
            original = try call.body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            throw GatewayError.badRequest("request body is not valid JSON: \(error)", code: "invalid_json")
        }
        let ir: [UInt8]
        if !call.isChat, case .gemini = dialect {
            ir = try GeminiEmbeddingsRequest.toIR(original, model: call.model).serialized()
            translator = GeminiEmbeddingsTranslator(batch: original["requests"] != nil)
        } else if dialect == .responses {
            ir = try responsesToIR(original).serialized()
        } else {
            ir = try dialect.requestToIR(original, model: call.model, stream: call.wantsStream).serialized()
            translator = dialect.makeTranslator(model: call.model, request: original)
        }
        return call.with(body: ByteBuffer(bytes: ir), scan: try RequestScan.scan(ir), dialect: TOLLGATE_DIALECT_OPENAI)
    }

    /// A converted Responses request: its internal form (after the stored conversation it
    /// continues, if any), and the translator that writes its answer, which also stores the
    /// finished answer unless the client said `store: false`.
    private func responsesToIR(_ original: JSONValue) throws -> JSONValue {
        var history: [JSONValue] = []
        if let previous = original["previous_response_id"], !previous.isNull {
            guard let id = previous.stringValue, let found = previousResponse, found.id == id, let stored = found.stored else {
                throw ClientAPI.responseNotFound(previous.stringValue ?? previous.jsonString, previous: true)
            }
            history = (try? JSONParser.parse(stored.conversation))?.arrayValue ?? []
        }
        let ir = try ResponsesRequest.toIR(original, history: history)
        let translator = ResponsesTranslator(model: model, echo: ResponsesRequest.echo(original))
        if original["store"]?.boolValue != false, let keeper = runtime.responses {
            let id = translator.responseID, key = key.name
            let turn = history + (try ResponsesRequest.inputMessages(original["input"]))
            translator.onFinished = { response, output in
                let answer = (try? ResponsesRequest.inputMessages(.array(output))) ?? []
                keeper.save(id: id, key: key, response: response, conversation: turn + answer)
            }
        }
        self.translator = translator
        return ir
    }

    /// A Responses request naming `previous_response_id` first looks the response up (this
    /// instance's unwritten saves, then storage); routing goes on once it is known. The lookup is
    /// made whatever the channel: an `openai` channel passes the id on to its own upstream.
    func afterPreviousResponse(_ proceed: @escaping () throws -> Void) throws {
        guard dialect == .responses, let keeper = runtime.responses,
              let id = body.withUnsafeReadableBytes({ RequestScan.member("previous_response_id", in: $0) })?.stringValue,
              let loop = eventLoop else {
            return try proceed()
        }
        let bound = NIOLoopBound(proceed, eventLoop: loop)
        let lookup = loop.makePromise(of: StoredResponse?.self)
        let key = key.name
        lookup.completeWithTask { try await keeper.find(id: id, key: key) }
        lookup.futureResult.whenComplete { [self] result in
            guard stillWanted() else { return }
            run {
                switch result {
                case .success(let stored): previousResponse = (id, stored)
                case .failure(let error): throw GatewayError.unavailable("cannot read stored responses: \(error)")
                }
                try bound.value()
            }
        }
    }
}
