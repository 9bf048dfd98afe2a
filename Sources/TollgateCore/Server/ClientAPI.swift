import Foundation
import NIOCore
import NIOHTTP1
import TollgatePluginABI

/// The client-facing routes: authenticate, read just enough of the body to route it, and send it
/// to the chosen channel's backend.
struct ClientAPI {
    let handler: RequestHandler
    var runtime: GatewayRuntime { handler.runtime }

    func dispatch(head: RequestHead, body: ByteBuffer) {
        let path = head.path
        // Chat completions first (most requests): the exact path is none of the prefixed routes.
        if head.method == .POST, path == "/v1/chat/completions" {
            return run { try modelCall(head: head, body: body, operation: TOLLGATE_OPERATION_CHAT) }
        }
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
        if path.hasBytePrefix(StoredResponseRoute.prefix) {
            return run { try storedResponse(head: head, id: path.dropFirst(StoredResponseRoute.prefix.count)) }
        }
        if path == "/admin" || path.hasBytePrefix("/admin/") {
            return run { try AdminAPI(handler: handler).dispatch(head: head, path: path, query: Self.query(head.query), body: body) }
        }
        switch (head.method, path) {
        case (.GET, "/healthz"), (.HEAD, "/healthz"):  // load balancers probe with HEAD
            handler.writeJSON(status: 200, body: Array(#"{"status":"ok"}"#.utf8), headOnly: head.method == .HEAD)
            handler.requestEnded(status: 200)
        case (.GET, "/metrics"):
            handler.writeText(status: 200, contentType: "text/plain; version=0.0.4", body: Array(runtime.metrics.render().utf8))
            handler.requestEnded(status: 200)
        case (.GET, "/readyz"), (.HEAD, "/readyz"):
            let channels = runtime.snapshot.router.channels.count
            handler.writeJSON(status: 200, body: JSONValue.object(["status": .string("ready"), "channels": .int(channels)]).serialized(),
                              headOnly: head.method == .HEAD)
            handler.requestEnded(status: 200)
        case (.GET, "/v1/models"):
            run { try listModels(head) }
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
        handler.requestEnded(status: error.status)
    }

    /// The URL's query parameters (percent-decoded; the last of a repeated name wins).
    static func query(_ query: Substring?) -> [String: String] {
        guard let query else { return [:] }
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = parts.first?.removingPercentEncoding else { continue }
            parameters[name] = parts.count > 1 ? (parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "") : ""
        }
        return parameters
    }

    static let maxModelNameBytes = 256

    /// A model name is recorded (ledger, metrics, health) and sent upstream: one with control
    /// characters or longer than any real one is refused before anything is recorded.
    static func checkName(_ model: String) throws {
        guard model.utf8.count <= maxModelNameBytes else {
            throw GatewayError.badRequest("model name is longer than \(maxModelNameBytes) bytes", code: "invalid_model")
        }
        // Control characters are C0 (and DEL) and C1: a byte test, then a scalar test only when
        // the name has a C1 lead byte (0xC2), so plain names cost one pass over their bytes.
        var text = model  // read where its bytes lie: a UTF8View is walked by index
        let (c0, c1Lead) = text.withUTF8 { ($0.contains { $0 < 0x20 || $0 == 0x7F }, $0.contains(0xC2)) }
        if c0 || c1Lead && model.unicodeScalars.contains(where: { (0x80...0x9F).contains($0.value) }) {
            throw GatewayError.badRequest("model name contains control characters", code: "invalid_model")
        }
    }

    // MARK: Keys

    /// The client's key from `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`,
    /// handed to `read` where its bytes lie (a `String` of it, made and freed on every request,
    /// cost more than the rest of the check); nil without one.
    static func presentedKey<Value>(_ head: RequestHead, _ read: (UnsafeRawBufferPointer) -> Value) -> Value? {
        let bearer = head.fields.first("authorization") { auth in
            auth.count > 7 && auth.hasPrefixIgnoringASCIICase("bearer ") ? read(UnsafeRawBufferPointer(rebasing: auth[7...])) : nil
        }
        if let bearer = bearer ?? nil { return bearer }
        if let key = head.fields.first("x-api-key", read) { return key }
        if let key = head.fields.first("x-goog-api-key", read) { return key }
        if let query = head.query {
            for var pair in query.split(separator: "&") where pair.hasPrefix("key=") {
                return pair.withUTF8 { read(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer($0)[4...])) }
            }
        }
        return nil
    }

    /// The request's client key, checked once per request (at its head; see `HeadAdmission`).
    func authenticate(_ head: RequestHead, keys: KeyStore) throws -> ClientKey {
        if let key = handler.clientKey { return key }
        guard let digest = Self.presentedKey(head, { $0.isEmpty ? nil : digest(of: $0) }) ?? nil else {
            throw GatewayError.unauthorized("missing API key: send it as 'Authorization: Bearer <key>'")
        }
        switch keys.check(digest: digest, nowUnix: unixSeconds()) {
        case .valid(let key):
            handler.clientKey = key
            return key
        case .unknown: throw GatewayError.unauthorized("invalid API key")
        case .expired(let key): throw GatewayError.unauthorized("API key '\(key.name)' has expired")
        case .revoked(let key): throw GatewayError.unauthorized("API key '\(key.name)' has been revoked")
        case .replaced(let key): throw GatewayError.unauthorized("API key '\(key.name)' was rotated: this secret is no longer valid, use the new one")
        }
    }

    /// The presented key's digest: the connection's last one when the bytes are the same.
    private func digest(of presented: UnsafeRawBufferPointer) -> KeyDigest {
        if let last = handler.lastKey, presented.equals(last.bytes) { return last.digest }
        let bytes = Array(presented)
        let digest = KeyDigest(of: bytes)
        handler.lastKey = (bytes, digest)
        return digest
    }

    // MARK: Routes

    private func listModels(_ head: RequestHead) throws {
        let snapshot = runtime.snapshot
        let key = try authenticate(head, keys: snapshot.keys)
        let models = snapshot.router.modelNames.filter { key.allows(model: $0) }.map { name in
            JSONValue.object(["id": .string(name), "object": .string("model"), "created": .int(MockProvider.created),
                              "owned_by": .string("tollgate")])
        }
        handler.writeJSON(status: 200, body: JSONValue.object(["object": .string("list"), "data": .array(models)]).serialized())
        handler.requestEnded(status: 200)
    }

    /// `target` is the model and streaming named by the URL (Gemini), else they come from the body.
    /// From here the request is a `ModelCall`'s.
    private func modelCall(head: RequestHead, body: ByteBuffer, operation: tollgate_type_operation,
                           target: (model: String, stream: Bool)? = nil, upstreamPath: String? = nil) throws {
        let key = try authenticate(head, keys: runtime.snapshot.keys)
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
        let call = ModelCall(client: handler, head: head, body: body, scan: scan, key: key, model: model, operation: operation,
                             upstreamPath: upstreamPath)
        handler.call = call
        call.run { try call.admit(stream: target?.stream) }
    }
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
        // Byte comparisons: every model request asks, and most are not Gemini's.
        guard let prefix = Self.prefixes.first(where: { path.hasBytePrefix($0) }) else { return nil }
        let rest = path.dropFirst(prefix.count)
        guard let colon = rest.lastIndex(of: ":") else { return nil }
        guard let method = Method(rawValue: String(rest[rest.index(after: colon)...])) else { return nil }
        self.method = method
        model = String(rest[..<colon]).removingPercentEncoding ?? String(rest[..<colon])
        guard !model.isEmpty else { return nil }
    }
}
