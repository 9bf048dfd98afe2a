import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// `POST /v1/messages/count_tokens` (Anthropic) and `:countTokens` (Gemini): the input tokens a
/// request would use. Counted by the provider's own counter when the routed channel has one (a
/// plugin built for ABI 1.2 that counts the client's body, or for 1.3 the internal form when it
/// does not take the client's dialect), else estimated here and marked `x-tollgate-estimated: true`.
/// Never billed; it counts against the key's rpm like any request.
extension ClientAPI {
    /// `geminiModel`: the model a Gemini route names in its URL (nil for Anthropic's route).
    func countTokens(head: RequestHead, body: ByteBuffer, geminiModel: String? = nil) throws {
        let snapshot = runtime.snapshot
        let key = try authenticate(head, keys: snapshot.keys)
        let request: JSONValue
        do {
            request = try body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch {
            throw GatewayError.badRequest("request body is not valid JSON: \(error)", code: "invalid_json")
        }
        // Validated (and measured) as the request it counts; Gemini may wrap it in generateContentRequest.
        let ir: JSONValue
        if let geminiModel {
            let generate = GeminiRequest.field(request, "generateContentRequest", "generate_content_request") ?? request
            ir = try GeminiRequest.toIR(generate, model: geminiModel, stream: false)
        } else {
            ir = try AnthropicRequest.toIR(request)
        }
        guard let model = geminiModel ?? request["model"]?.stringValue, !model.isEmpty else {
            throw GatewayError.badRequest("missing required field 'model'", code: "missing_model")
        }
        let call = ModelCall(client: handler, head: head, body: body, scan: try RequestScan.scan(Array(buffer: body)), key: key,
                             model: model, operation: TOLLGATE_OPERATION_COUNT_TOKENS)
        handler.call = call
        call.run { try count(call, ir: ir, gemini: geminiModel != nil) }
    }

    private func count(_ call: ModelCall, ir: JSONValue, gemini: Bool) throws {
        let model = call.model, key = call.key, snapshot = runtime.snapshot
        guard key.allows(model: model) else { throw GatewayError.forbidden("key '\(key.name)' may not use model '\(model)'") }
        guard snapshot.router.serves(model) else {
            throw GatewayError.notFound("model '\(model)' is not served by this gateway", code: "model_not_found")
        }
        if let limiter = key.limiter {
            switch limiter.admit(estimatedTokens: 0) {
            case .success(let lease): call.keyLease = lease
            case .failure(let error): throw error
            }
        }
        let estimate = { Self.writeEstimate(ir, gemini: gemini, call: call) }
        let dialect = gemini ? TOLLGATE_DIALECT_GEMINI : TOLLGATE_DIALECT_ANTHROPIC
        guard case .routed(let channel, let lease) = snapshot.router.route(model, embeddings: false),
              case .plugin(let plugin) = channel.backend, plugin.plugin.knowsCountTokens else {
            return estimate()
        }
        call.lease = lease
        call.routed = (channel, channel.upstreamModel(for: model), BillingMarks())
        // A channel that does not take the client's dialect counts what it would be sent: the
        // internal form, converted by its plugin like a chat, the count coming back as
        // `{"input_tokens": N}` to put in the client's shape. A plugin built before ABI 1.3 was
        // never told it might get one.
        let own = plugin.accepts(dialect, model: channel.upstreamModel(for: model))
        guard own || plugin.plugin.countsInternalDialect else { return estimate() }
        let sent = own ? Array(buffer: call.body) : ir.serialized()
        if !own { call.translator = CountTokensTranslator(gemini: gemini) }
        let attempt = UpstreamCall(head: call.head, body: own ? call.body : ByteBuffer(bytes: sent), scan: try RequestScan.scan(sent),
                                   model: model, operation: TOLLGATE_OPERATION_COUNT_TOKENS, channel: channel,
                                   dialect: own ? dialect : TOLLGATE_DIALECT_OPENAI, wantsStream: false)
        try call.send(attempt, via: PluginUpstream(pluginChannel: plugin), unsupported: estimate)
    }

    /// The gateway's own count (Anthropic's `input_tokens` or Gemini's `totalTokens`): about four
    /// bytes of text per token, plus a few per message.
    static func writeEstimate(_ ir: JSONValue, gemini: Bool, call: ModelCall) {
        let tokens = estimatedTokens(ir)
        call.client.writeJSON(status: 200, body: CountTokensTranslator.body(tokens: tokens, gemini: gemini),
                              extraHeaders: [("x-tollgate-estimated", "true")])
        call.end(status: 200, channel: nil, usage: TokenUsage())
    }

    static func estimatedTokens(_ ir: JSONValue) -> Int64 {
        var bytes = 0, messages = 0
        for message in ir["messages"]?.arrayValue ?? [] {
            messages += 1
            bytes += textBytes(message["content"])
            for call in message["tool_calls"]?.arrayValue ?? [] { bytes += call.serialized().count }
        }
        for tool in ir["tools"]?.arrayValue ?? [] { bytes += tool.serialized().count }
        return Int64((bytes + 3) / 4 + 3 * messages)
    }

    /// Text of a message's content; an image counts as a fixed 1,600 bytes (~400 tokens).
    private static func textBytes(_ content: JSONValue?) -> Int {
        switch content {
        case .string(let text)?: return text.utf8.count
        case .array(let parts)?:
            return parts.reduce(0) { sum, part in sum + (part["text"]?.stringValue?.utf8.count ?? (part["image_url"] != nil ? 1600 : 0)) }
        default: return 0
        }
    }
}
