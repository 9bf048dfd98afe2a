import Foundation
import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// The client-facing routes: authenticate, read just enough of the body to route it, and send it
/// to the chosen channel's backend.
struct ClientAPI {
    let handler: RequestHandler
    var runtime: GatewayRuntime { handler.runtime }

    func dispatch(head: HTTPRequestHead, body: ByteBuffer) {
        let path = head.uri.prefix { $0 != "?" }
        if head.method == .POST, let route = GeminiRoute(path: path) {
            handler.dialect = .gemini(sse: head.uri.contains("alt=sse"))
            return run {
                switch route.method {
                case .generateContent, .streamGenerateContent:
                    try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_CHAT, target: (route.model, route.stream))
                case .embedContent, .batchEmbedContents:
                    try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_EMBEDDINGS, target: (route.model, false))
                case .countTokens:
                    try countTokens(head: head, body: body, geminiModel: route.model)
                }
            }
        }
        if path.hasPrefix(StoredResponseRoute.prefix) {
            return run { try storedResponse(head: head, id: path.dropFirst(StoredResponseRoute.prefix.count)) }
        }
        if path == "/admin" || path.hasPrefix("/admin/") {
            return run { try AdminAPI(handler: handler).dispatch(head: head, path: path, query: Self.query(head.uri), body: body) }
        }
        switch (head.method, path) {
        case (.GET, "/healthz"), (.HEAD, "/healthz"):  // load balancers probe with HEAD
            handler.writeJSON(status: 200, body: Array(#"{"status":"ok"}"#.utf8), headOnly: head.method == .HEAD)
            handler.requestEnded(status: 200, channel: nil, usage: TokenUsage())
        case (.GET, "/metrics"):
            handler.writeText(status: 200, contentType: "text/plain; version=0.0.4", body: Array(runtime.metrics.render().utf8))
            handler.requestEnded(status: 200, channel: nil, usage: TokenUsage())
        case (.GET, "/readyz"), (.HEAD, "/readyz"):
            let channels = runtime.snapshot.router.channels.count
            handler.writeJSON(status: 200, body: JSONValue.object(["status": .string("ready"), "channels": .int(channels)]).serialized(),
                              headOnly: head.method == .HEAD)
            handler.requestEnded(status: 200, channel: nil, usage: TokenUsage())
        case (.GET, "/v1/models"):
            run { try listModels(head) }
        case (.POST, "/v1/chat/completions"):
            run { try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_CHAT) }
        case (.POST, "/v1/embeddings"):
            run { try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_EMBEDDINGS) }
        case (.POST, "/v1/messages"):
            handler.dialect = .anthropic
            run { try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_CHAT) }
        case (.POST, "/v1/completions"):
            run { try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_CHAT, upstreamPath: ClientRoutes.completions) }
        case (.POST, "/v1/messages/count_tokens"):
            handler.dialect = .anthropic
            run { try countTokens(head: head, body: body) }
        case (.POST, "/v1/responses"):
            handler.dialect = .responses
            run { try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_CHAT) }
        case (_, "/healthz"), (_, "/readyz"), (_, "/metrics"), (_, "/v1/models"), (_, "/v1/chat/completions"), (_, "/v1/embeddings"),
             (_, "/v1/messages"), (_, "/v1/responses"), (_, "/v1/messages/count_tokens"), (_, "/v1/completions"):
            fail(GatewayError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                              message: "\(head.method.rawValue) is not allowed on \(path)"))
        default:
            fail(.notFound("no route for \(head.method.rawValue) \(path)", code: "unknown_route"))
        }
    }

    func run(_ body: () throws -> Void) {
        do { try body() } catch let error as GatewayError { fail(error) } catch { fail(.internalError("\(error)")) }
    }

    func fail(_ error: GatewayError) {
        handler.writeError(error)
        handler.requestEnded(status: error.status, channel: nil, usage: TokenUsage())
    }

    /// The URL's query parameters (percent-decoded; the last of a repeated name wins).
    static func query(_ uri: String) -> [String: String] {
        guard let query = uri.split(separator: "?", maxSplits: 1).dropFirst().first else { return [:] }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = parts.first?.removingPercentEncoding else { continue }
            parameters[name] = parts.count > 1 ? (parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
        }
        return parameters
    }

    /// A key near the end of its budget is checked against the database's total (every
    /// instance's spend) before it is served; only such keys ever wait on storage.
    private func afterBudgetVerification(key: String, _ proceed: @escaping () throws -> Void) {
        guard handler.stillWanted(), let loop = handler.eventLoop else { return }
        let bound = NIOLoopBound(proceed, eventLoop: loop)
        let budgets = runtime.budgets
        let verified = loop.makePromise(of: GatewayError?.self)
        verified.completeWithTask { await budgets.verify(key: key, now: unixSeconds()) }
        verified.futureResult.whenSuccess { [self] refusal in
            guard handler.stillWanted() else { return }
            run {
                if let refusal { throw refusal }
                try bound.value()
            }
        }
    }

    static let maxModelNameBytes = 256

    /// A model name is recorded (ledger, metrics, health) and sent upstream: one with control
    /// characters or longer than any real one is refused before anything is recorded.
    static func checkName(_ model: String) throws {
        guard model.utf8.count <= maxModelNameBytes else {
            throw GatewayError.badRequest("model name is longer than \(maxModelNameBytes) bytes", code: "invalid_model")
        }
        if model.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw GatewayError.badRequest("model name contains control characters", code: "invalid_model")
        }
    }

    // MARK: Keys

    /// The client's key from `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`.
    static func presentedKey(_ head: HTTPRequestHead) -> Substring? {
        if let auth = head.headers.first(name: "authorization") {
            let value = Substring(auth)
            if value.count > 7, value.prefix(7).lowercased() == "bearer " { return value.dropFirst(7) }
        }
        if let key = head.headers.first(name: "x-api-key") { return Substring(key) }
        if let key = head.headers.first(name: "x-goog-api-key") { return Substring(key) }
        if let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first {
            for pair in query.split(separator: "&") where pair.hasPrefix("key=") { return pair.dropFirst(4) }
        }
        return nil
    }

    /// The request's client key, checked once per request (at its head; see `HeadAdmission`).
    func authenticate(_ head: HTTPRequestHead, keys: KeyStore) throws -> ClientKey {
        if let key = handler.clientKey { return key }
        guard let presented = Self.presentedKey(head), !presented.isEmpty else {
            throw GatewayError.unauthorized("missing API key: send it as 'Authorization: Bearer <key>'")
        }
        switch keys.check(digest: digest(of: presented), nowUnix: unixSeconds()) {
        case .valid(let key):
            handler.keyName = key.name
            return key
        case .unknown: throw GatewayError.unauthorized("invalid API key")
        case .expired(let key): throw GatewayError.unauthorized("API key '\(key.name)' has expired")
        case .revoked(let key): throw GatewayError.unauthorized("API key '\(key.name)' has been revoked")
        case .replaced(let key): throw GatewayError.unauthorized("API key '\(key.name)' was rotated: this secret is no longer valid, use the new one")
        }
    }

    private func digest(of presented: Substring) -> KeyDigest {
        if let last = handler.lastKey, last.bytes.elementsEqual(presented.utf8) { return last.digest }
        let bytes = Array(presented.utf8)
        let digest = KeyDigest(of: bytes)
        handler.lastKey = (bytes, digest)
        return digest
    }

    /// A call in another dialect goes on as it is when its channel takes that dialect (the
    /// provider's own); otherwise its body is converted to the internal dialect and a translator
    /// converts the answer back.
    func inInternalDialect(_ call: ModelCall) throws -> ModelCall {
        let dialect = handler.dialect
        guard dialect != .openAI else { return call }
        if dialect == .responses, let upstreamPath = call.channel.ownResponsesPath {
            var own = call
            own.upstreamPath = upstreamPath
            return own
        }
        // A Gemini stream without alt=sse is a JSON array; upstreams are always asked for SSE, so
        // such a stream is converted rather than passed through.
        let arrayStream = dialect == .gemini(sse: false) && call.wantsStream
        if !arrayStream, dialect != .responses, case .plugin(let plugin) = call.channel.backend,
           plugin.accepts(dialect.abi, model: call.channel.upstreamModel(for: call.model)) {
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
            handler.translator = GeminiEmbeddingsTranslator(batch: original["requests"] != nil)
        } else if dialect == .responses {
            ir = try responsesToIR(original, model: call.model).serialized()
        } else {
            ir = try dialect.requestToIR(original, model: call.model, stream: call.wantsStream).serialized()
            handler.translator = dialect.makeTranslator(model: call.model, request: original)
        }
        var converted = call
        converted.body = handler.allocator.buffer(bytes: ir)
        converted.scan = try RequestScan.scan(ir)
        converted.dialect = TOLLGATE_DIALECT_OPENAI
        return converted
    }

    // MARK: Routes

    private func listModels(_ head: HTTPRequestHead) throws {
        let snapshot = runtime.snapshot
        let key = try authenticate(head, keys: snapshot.keys)
        let models = snapshot.router.modelNames.filter { key.allows(model: $0) }.map { name in
            JSONValue.object(["id": .string(name), "object": .string("model"), "created": .int(MockProvider.created),
                              "owned_by": .string("tollgate")])
        }
        handler.writeJSON(status: 200, body: JSONValue.object(["object": .string("list"), "data": .array(models)]).serialized())
        handler.requestEnded(status: 200, channel: nil, usage: TokenUsage())
    }

    /// `target` is the model and streaming named by the URL (Gemini), else they come from the body.
    private func modelCall(head: HTTPRequestHead, body: ByteBuffer, operation: tollgate_type_operation,
                           target: (model: String, stream: Bool)? = nil, upstreamPath: String? = nil) throws {
        let snapshot = runtime.snapshot
        let key = try authenticate(head, keys: snapshot.keys)
        let scan: RequestScan
        do {
            scan = try body.withUnsafeReadableBytes { try RequestScan.scan($0) }
        } catch let error as JSONError {
            throw GatewayError.badRequest("request body is not valid JSON: \(error)", code: "invalid_json")
        }
        guard let model = target?.model ?? scan.model, !model.isEmpty else {
            throw GatewayError.badRequest("missing required field 'model'", code: "missing_model")
        }
        try Self.checkName(model)
        handler.model = model
        guard key.allows(model: model) else {
            throw GatewayError.forbidden("key '\(key.name)' may not use model '\(model)'")
        }
        guard snapshot.router.serves(model) else {
            throw GatewayError.notFound("model '\(model)' is not served by this gateway", code: "model_not_found")
        }
        let proceed = { () throws -> Void in
            if let limiter = key.limiter {
                switch limiter.admit(estimatedTokens: body.readableBytes / 4) {
                case .success(let lease): handler.keyLease = lease
                case .failure(let error): throw error
                }
            }
            let marks = BillingMarks(batch: key.billingTier == .batch)
            let stream = target?.stream ?? (operation == TOLLGATE_OPERATION_CHAT && scan.stream)
            handler.pending = PendingCall(head: head, body: body, scan: scan, model: model, operation: operation, stream: stream,
                                          marks: marks, retriesLeft: runtime.routing.retries,
                                          fallbacks: (key.fallbacks[model] ?? snapshot.fallbacks[model] ?? []).filter(key.allows),
                                          contextFallbacks: (snapshot.contextWindowFallbacks[model] ?? []).filter(key.allows),
                                          upstreamPath: upstreamPath)
            try afterPreviousResponse(body: body, key: key.name) { _ = try attempt(failover: false) }
        }
        switch runtime.budgets.admit(key: key.name, now: unixSeconds()) {
        case .deny(let error): throw error
        case .allow: try proceed()
        case .verify: afterBudgetVerification(key: key.name, proceed)
        }
    }
}

/// A routed model request, as every backend receives it.
struct ModelCall: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var scan: RequestScan
    var model: String
    var operation: tollgate_type_operation
    var channel: RuntimeChannel
    /// The dialect of `body`: the internal one, or the client's when its channel takes it as is.
    var dialect: tollgate_type_dialect
    var wantsStream: Bool
    /// The attempt's hold on the channel's health, handed to its exchange.
    var lease: HealthLease?
    /// For a passthrough channel: the path after its base path when it is not the operation's
    /// own (`/responses` for a Responses request the upstream serves itself).
    var upstreamPath: String? = nil

    var isChat: Bool { operation == TOLLGATE_OPERATION_CHAT }
}

/// `/v1beta/models/{model}:generateContent`, `:streamGenerateContent`, `:embedContent`,
/// `:batchEmbedContents` and `:countTokens` (also under `/v1`, which google-genai calls by default).
struct GeminiRoute {
    enum Method: String { case generateContent, streamGenerateContent, embedContent, batchEmbedContents, countTokens }
    var model: String
    var method: Method
    var stream: Bool { method == .streamGenerateContent }

    static let prefixes = ["/v1beta/models/", "/v1/models/"]

    init?(path: Substring) {
        guard let prefix = Self.prefixes.first(where: { path.hasPrefix($0) }) else { return nil }
        let rest = path.dropFirst(prefix.count)
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        guard let method = Method(rawValue: String(rest[rest.index(after: colon)...])) else { return nil }
        self.method = method
        model = String(rest[..<colon]).removingPercentEncoding ?? String(rest[..<colon])
        guard !model.isEmpty else { return nil }
    }
}
