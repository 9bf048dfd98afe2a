import Testing
@testable import TollgateCore

/// `POST /v1/messages/count_tokens` on `gemini` channels (and Gemini models on `vertex`): the
/// Anthropic body converted as a chat would be, counted by a mock of Google's `countTokens` that
/// checks the key and the body's shape as Google does (the Gemini API takes `contents` or a whole
/// `generateContentRequest` naming its model; Vertex AI takes the request's members at the top
/// level) and answers `{"totalTokens": N}`.
@Suite struct GeminiCountTokensTests {
    static let countPath = "/v1beta/models/gemini-2.0-flash:countTokens"

    // MARK: The mock countTokens

    /// Words of the system instruction and contents, 4 per content, 20 per function declaration.
    static func mockCount(_ request: JSONValue) -> Int64 {
        let words = CountTokensChecks.words(in: [request["systemInstruction"], request["contents"]], keys: ["text"])
        let functions = (request["tools"]?.arrayValue ?? []).reduce(0) { $0 + ($1["functionDeclarations"]?.arrayValue?.count ?? 0) }
        return Int64(words + 4 * (request["contents"]?.arrayValue?.count ?? 0) + 20 * functions)
    }

    /// Google's countTokens: `vertex` for Vertex AI's form, else the Gemini API's (`resource` is the
    /// model a `generateContentRequest` must name).
    static func respondCount(_ request: ReceivedRequest, vertex: Bool, resource: String, _ respond: MockResponder) {
        func refuse(_ status: Int, _ code: String, _ message: String) {
            respond.json(status, JSONValue.object(["error": .object(["code": .int(status), "message": .string(message),
                                                                     "status": .string(code)])]).serialized().asString)
        }
        guard let body = request.json?.objectValue else { return refuse(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") }
        let allowed: Set = vertex ? ["contents", "systemInstruction", "tools", "generationConfig"] : ["contents", "generateContentRequest"]
        if let unknown = body.first(where: { !allowed.contains($0.key) }) {
            return refuse(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \"\(unknown.key)\": Cannot find field.")
        }
        var counted = JSONValue.object(body)
        if let generate = counted["generateContentRequest"] {
            guard generate["model"]?.stringValue == resource else {
                return refuse(400, "INVALID_ARGUMENT", "* GenerateContentRequest.model: unexpected model name format")
            }
            counted = generate
        }
        guard let first = counted["contents"]?[0]?["parts"]?[0]?["text"]?.stringValue else {
            return refuse(400, "INVALID_ARGUMENT", "* CountTokensRequest.contents: contents is not specified")
        }
        switch first {
        case "invalid": refuse(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        case "throttle": refuse(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        case "no count": respond.json(200, #"{"promptTokensDetails":[]}"#)
        case "not json": respond.json(200, "<html>502 Bad Gateway</html>")
        case "huge": respond.json(200, #"{"totalTokens":98765432109876543210}"#)
        case "negative": respond.json(200, #"{"totalTokens":-1}"#)
        default:
            let count = mockCount(counted)
            respond.json(200, #"{"totalTokens":\#(count),"promptTokensDetails":[{"modality":"TEXT","tokenCount":\#(count)}]}"#)
        }
    }

    static func upstream() async throws -> MockUpstream {
        try await MockUpstream { request, respond in
            guard request.header("x-goog-api-key") == GeminiUpstreamTests.key else {
                return respond.json(403, #"{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}"#)
            }
            guard request.uri == countPath else {
                return respond.json(404, #"{"error":{"code":404,"message":"no route","status":"NOT_FOUND"}}"#)
            }
            respondCount(request, vertex: false, resource: "models/gemini-2.0-flash", respond)
        }
    }

    // MARK: Tests

    @Test func anAnthropicCountOnAGeminiChannelIsGooglesCount() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GeminiUpstreamTests.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }

        let response = try await CountTokensChecks.count(harness, model: "flash")
        #expect(response.status == 200, "\(response.text)")
        #expect(response.text == #"{"input_tokens":31}"#, "3 + 4 words, 4 for the content, 20 for the function")
        #expect(response.header("x-tollgate-estimated") == nil && response.header("x-tollgate-cost") == nil)
        #expect(response.header("x-tollgate-channel") == "google")
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == Self.countPath)
        let generate = try #require(sent.json?["generateContentRequest"])
        #expect(generate["model"]?.stringValue == "models/gemini-2.0-flash")
        #expect(generate["systemInstruction"]?.jsonString == #"{"parts":[{"text":"Answer in French."}]}"#)
        #expect(generate["contents"]?.jsonString == #"[{"role":"user","parts":[{"text":"Say hello to everyone"}]}]"#)
        #expect(generate["tools"]?[0]?["functionDeclarations"]?[0]?["name"]?.stringValue == "get_weather")

        let record = try #require(await harness.records.waitFor(response.header("x-request-id")))
        #expect(record.route == "count_tokens" && record.status == 200 && record.channel == "google")
        #expect(record.bill == .unpriced && record.usage.isEmpty)
    }

    @Test func refusalsAndBadAnswersComeBackAsAnthropicErrors() async throws {
        let upstream = try await Self.upstream()
        let harness = try await GeminiUpstreamTests.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        try await CountTokensChecks.expectRefusalsAndBadAnswers(harness, model: "flash", refusal: "Request contains an invalid argument.")
    }

    @Test func vertexCountsGeminiModelsInItsOwnForm() async throws {
        let upstream = try await VertexUpstreamTests.upstream(tokens: VertexUpstreamTests.TokenLog())
        let harness = try await VertexUpstreamTests.start(upstream)
        defer { Task { await harness.stop(); await upstream.stop() } }
        let countPath = VertexUpstreamTests.prefix("google", VertexUpstreamTests.gemini) + ":countTokens"

        let anthropic = try await CountTokensChecks.count(harness, model: "flash")
        #expect(anthropic.status == 200, "\(anthropic.text)")
        #expect(anthropic.text == #"{"input_tokens":31}"#)
        #expect(anthropic.header("x-tollgate-estimated") == nil)
        let sent = try #require(upstream.requests.last)
        #expect(sent.uri == countPath)
        #expect(sent.json?["generateContentRequest"] == nil && sent.json?["systemInstruction"] != nil && sent.json?["tools"] != nil)

        // google-genai wraps a Gemini client's count in generateContentRequest; Vertex takes it unwrapped.
        let gemini = try await harness.client.fetch(
            port: harness.port, path: "/v1beta/models/flash:countTokens",
            headers: [("x-goog-api-key", GatewayHarness.clientKey), ("content-type", "application/json")],
            body: Array(#"{"generateContentRequest":{"model":"models/flash","contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}}"#.utf8))
        #expect(gemini.status == 200, "\(gemini.text)")
        #expect(gemini.json?["totalTokens"]?.int64Value == 6)
        #expect(gemini.header("x-tollgate-estimated") == nil)
        #expect(upstream.requests.last?.json?.jsonString == #"{"contents":[{"role":"user","parts":[{"text":"Say hello"}]}]}"#)
    }
}
