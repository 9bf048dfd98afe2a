import TollgatePluginABI

/// The API dialect a client speaks. Every request is served through one internal representation,
/// the OpenAI Chat Completions dialect: a request in another dialect is converted to it on the way
/// in and its answer converted back on the way out (one converter per dialect, not per pair),
/// unless the upstream speaks the client's dialect itself, in which case nothing is converted.
enum ClientDialect: Sendable, Equatable {
    case openAI, anthropic
    /// OpenAI's Responses API (`/v1/responses`): converted unless an `openai` channel serves it itself.
    case responses
    /// Gemini; `sse` when the client asked for `alt=sse` streams (else a streamed JSON array).
    case gemini(sse: Bool)

    /// The name recorded in the usage ledger.
    var name: String {
        switch self {
        case .openAI: "openai"
        case .anthropic: "anthropic"
        case .gemini: "gemini"
        case .responses: "responses"
        }
    }

    var abi: tollgate_type_dialect {
        switch self {
        case .openAI, .responses: TOLLGATE_DIALECT_OPENAI
        case .anthropic: TOLLGATE_DIALECT_ANTHROPIC
        case .gemini: TOLLGATE_DIALECT_GEMINI
        }
    }

    /// Converts a request body to the internal representation (identity for OpenAI). Gemini
    /// names the model and the streaming in the URL, so they are passed in.
    func requestToIR(_ body: JSONValue, model: String, stream: Bool) throws(GatewayError) -> JSONValue {
        switch self {
        case .openAI: body
        case .anthropic: try AnthropicRequest.toIR(body)
        case .gemini: try GeminiRequest.toIR(body, model: model, stream: stream)
        case .responses: try ResponsesRequest.toIR(body)
        }
    }

    /// Converts answers in the internal representation back to this dialect; nil for OpenAI.
    /// `request` is the client's body (a Response object repeats some of its fields).
    func makeTranslator(model: String, request: JSONValue) -> (any ResponseTranslator)? {
        switch self {
        case .openAI: nil
        case .anthropic: AnthropicTranslator(model: model)
        case .gemini(let sse): GeminiTranslator(model: model, sse: sse)
        case .responses: ResponsesTranslator(model: model, echo: ResponsesRequest.echo(request))
        }
    }

    /// A gateway error in this dialect's error shape.
    func errorBody(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI, .responses: error.body
        case .anthropic: AnthropicErrors.body(status: error.status, message: error.message)
        case .gemini: GoogleErrorBody.body(status: error.status, message: error.message)
        }
    }

    /// The event that ends a stream that failed after it started.
    func streamErrorEvent(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI: ErrorBody.openAIStreamEvent(message: error.message, type: error.type, code: error.code)
        case .anthropic: AnthropicErrors.event(status: error.status, message: error.message)
        case .gemini: GoogleErrorBody.event(status: error.status, message: error.message)
        case .responses: ResponsesTranslator.errorEvent(error)
        }
    }
}

/// Turns answers written in the internal representation into a client dialect, at the point
/// where the gateway writes them (so every backend is served the same way).
protocol ResponseTranslator: AnyObject {
    /// The content type of a translated stream.
    var streamContentType: String { get }
    /// A complete answer (a success body or an OpenAI-style error body) and its status.
    func complete(status: Int, body: [UInt8]) -> [UInt8]
    /// Stream bytes (OpenAI SSE, split anywhere) in; this dialect's stream bytes out.
    func streamChunk(_ bytes: UnsafeRawBufferPointer) -> [UInt8]
    /// The upstream's body ended, with or without `[DONE]`, maybe inside an event: what closes
    /// the stream in this dialect (the stop reason, the usage and the closing events), or an
    /// error event when the last event was cut off. Nothing when the stream already ended.
    func streamEnd() -> [UInt8]
}

/// How the last bytes of an internal (OpenAI SSE) stream read when its body ended.
enum StreamTail {
    /// Nothing was pending.
    case none
    /// `[DONE]` or a whole event, missing only its blank line.
    case done
    case event(JSONValue)
    /// An event cut off mid-way.
    case cut

    static func read(_ parser: inout SSEParser) -> StreamTail {
        guard let last = parser.finish(), !last.isEmpty else { return .none }
        if last.isDone { return .done }
        guard let json = try? JSONParser.parse(last.data) else { return .cut }
        return .event(json)
    }

    static let cutMessage = "the upstream ended the stream inside an event"
}
