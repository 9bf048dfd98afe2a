import AnthropicWire
import TollgatePluginKit

/// A `bedrock` channel, signed with SigV4: OpenAI chat <-> Converse / ConverseStream, or with
/// `options.api: invoke` InvokeModel / InvokeModelWithResponseStream with Anthropic bodies for
/// Anthropic models (see `InvokeModel`), where Anthropic clients pass through.
public final class BedrockChannel: AdaptorChannel {
    public let settings: AWSChannelSettings

    public init(_ settings: AWSChannelSettings) { self.settings = settings }

    /// An Anthropic Messages body is the model's own on InvokeModel, so it goes through (with the
    /// `platformBody` edit) when the channel invokes and the model is Anthropic's.
    public func classify(_ answer: PluginAnswer) -> ResponseClassification? { BedrockAnswers.classify(answer) }

    public func accepts(_ dialect: Dialect, model: String) -> Bool {
        dialect == .anthropic && settings.api == .invoke && InvokeModel.isAnthropic(model)
    }

    public func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        switch request.operation {
        case .embeddings: return try buildEmbeddings(request)
        case .countTokens: return try buildCount(request)
        case .chat: break
        }
        switch settings.api {
        case .converse:
            guard request.dialect == .openAI else {
                throw PluginError(.unsupported, "Bedrock Converse takes OpenAI chat bodies, not \(request.dialect)")
            }
            return try build(operation: request.operation, model: request.model, body: request.body, stream: request.stream)
        case .invoke:
            return try buildInvoke(operation: request.operation, model: request.model, body: request.body,
                                   dialect: request.dialect, stream: request.stream, clientHeaders: request.clientHeaders)
        }
    }

    public func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        switch response.operation {
        case .embeddings: return try BedrockEmbeddings.toOpenAI(response)
        case .countTokens: return try convertCount(response)
        case .chat: break
        }
        switch settings.api {
        case .converse:
            return try convert(status: response.status, headers: response.headers, body: response.body, model: response.model)
        case .invoke:
            return try convertInvoke(response)
        }
    }

    public func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream {
        switch settings.api {
        case .converse: stream(model: params.model, headers: params.headers, includeUsage: params.includeUsage)
        case .invoke: invokeStream(params)
        }
    }

    func build(operation: TollgatePluginKit.Operation = .chat, model: String, body: [UInt8], stream: Bool) throws(PluginError) -> PluginUpstreamRequest {
        guard operation == .chat else {
            throw PluginError(.unsupported, "Bedrock Converse serves chat completions only")
        }
        let converted = try ConverseRequest.convert(body).serialized()
        let path: String
        do {
            path = try BedrockRuntime.path(modelID: model, operation: stream ? .converseStream : .converse)
        } catch { throw PluginError(.invalidInput, error.description) }
        return try settings.signedRequest(path: path, headers: [
            ("Content-Type", "application/json"),
            ("Accept", stream ? "application/vnd.amazon.eventstream" : "application/json"),
        ], body: converted)
    }

    func convert(status: Int, headers: [(String, String)], body: [UInt8], model: String) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(status) else {
            return PluginConvertedResponse(status: status, body: AWSErrorBody.openAI(status: status, headers: headers, body: body))
        }
        let (json, usage) = try ConverseResponse.chatCompletion(body, model: model, id: ResponseID.make(headers: headers),
                                                                created: settings.nowSeconds)
        return PluginConvertedResponse(status: status, body: json.serialized(), usage: usage)
    }

    func stream(model: String, headers: [(String, String)], includeUsage: Bool) -> ConverseStream {
        ConverseStream(writer: OpenAIChunkWriter(id: ResponseID.make(headers: headers), created: settings.nowSeconds, model: model),
                       includeUsage: includeUsage)
    }

    /// Embeddings go to InvokeModel whatever the channel's `api` (Converse has none).
    func buildEmbeddings(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        guard request.dialect == .openAI else { throw PluginError(.unsupported, "Bedrock embeddings take OpenAI embeddings bodies") }
        let body = try BedrockEmbeddings.body(fromOpenAI: request.body, model: request.model)
        let path: String
        do { path = try BedrockRuntime.path(modelID: request.model, operation: .invoke) } catch {
            throw PluginError(.invalidInput, error.description)
        }
        return try settings.signedRequest(path: path, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                                          body: body)
    }

    // MARK: InvokeModel (Anthropic)

    /// `/model/{id}/invoke` or `/invoke-with-response-stream` with an Anthropic body: converted
    /// from OpenAI, or the Anthropic client's own with `model` removed and `anthropic_version` set.
    func buildInvoke(operation: TollgatePluginKit.Operation = .chat, model: String, body: [UInt8], dialect: Dialect = .openAI,
                     stream: Bool, clientHeaders: [(String, String)] = []) throws(PluginError) -> PluginUpstreamRequest {
        guard operation == .chat else {
            throw PluginError(.unsupported, "Bedrock InvokeModel serves chat completions only")
        }
        let anthropic = try invokeBody(model: model, body: body, dialect: dialect, clientHeaders: clientHeaders)
        let path: String
        do {
            path = try BedrockRuntime.path(modelID: model, operation: stream ? .invokeWithResponseStream : .invoke)
        } catch { throw PluginError(.invalidInput, error.description) }
        // The operation decides streaming on Bedrock and its Anthropic schema has no `stream`
        // member (it refuses extraneous keys), so neither body carries one, as Anthropic's own
        // Bedrock SDK sends them. InvokeModelWithResponseStream takes the answer's type in
        // X-Amzn-Bedrock-Accept, as the AWS SDKs send it.
        let headers: [(String, String)] = stream
            ? [("Content-Type", "application/json"), ("Accept", "application/vnd.amazon.eventstream"),
               ("X-Amzn-Bedrock-Accept", "application/json")]
            : [("Content-Type", "application/json"), ("Accept", "application/json")]
        return try settings.signedRequest(path: path, headers: headers, body: anthropic)
    }

    /// The Anthropic body InvokeModel takes for `model`: converted from OpenAI, or an Anthropic
    /// client's own with `model` removed and `anthropic_version` set; beta flags go in it.
    func invokeBody(model: String, body: [UInt8], dialect: Dialect, clientHeaders: [(String, String)]) throws(PluginError) -> [UInt8] {
        guard InvokeModel.isAnthropic(model) else { throw InvokeModel.unsupported(model) }
        let anthropic: [UInt8]
        switch dialect {
        case .openAI:
            anthropic = try AnthropicWire.requestBody(fromOpenAI: body, model: model, options: .init(
                stream: false, maxTokensDefault: settings.maxTokensDefault, platformVersion: AnthropicWire.bedrockVersion))
        case .anthropic:
            anthropic = try AnthropicWire.platformBody(body, anthropicVersion: AnthropicWire.bedrockVersion, removing: ["stream"])
        case .gemini:
            throw PluginError(.unsupported, "Bedrock InvokeModel does not take a Gemini body")
        }
        return try InvokeModel.addingBetas(anthropic, clientHeaders: clientHeaders)
    }

    func convertInvoke(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(response.status) else { return Self.awsError(response) }
        return try AnthropicWire.convertResponse(response, created: settings.nowSeconds)
    }

    /// An AWS error answer in the request body's dialect, its status kept.
    static func awsError(_ response: PluginResponse) -> PluginConvertedResponse {
        let body = response.dialect == .anthropic
            ? InvokeModel.anthropicError(status: response.status, headers: response.headers, body: response.body)
            : AWSErrorBody.openAI(status: response.status, headers: response.headers, body: response.body)
        return PluginConvertedResponse(status: response.status, body: body)
    }

    func invokeStream(_ params: PluginStreamParams) -> InvokeStream {
        InvokeStream(inner: AnthropicWire.makeStream(params, created: settings.nowSeconds))
    }

    // MARK: CountTokens

    /// What ConverseTokensRequest takes of a Converse body (not inferenceConfig and the rest).
    static let countedConverseMembers: Set<String> = ["messages", "system", "toolConfig", "additionalModelRequestFields"]

    /// CountTokens (`/model/{id}/count-tokens`, free) for the body the channel would send:
    /// `{"input":{"invokeModel":{"body":"<base64>"}}}` on an invoke channel (an Anthropic client's
    /// body, or the internal form converted), `{"input":{"converse":{...}}}` on a Converse one.
    func buildCount(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        let input: JSONValue
        switch settings.api {
        case .invoke:
            let body = try invokeBody(model: request.model, body: request.body, dialect: request.dialect, clientHeaders: request.clientHeaders)
            let maxTokens = settings.maxTokensDefault ?? AnthropicWire.maxOutputTokens(forModel: request.model)
            let complete = try InvokeModel.requiringMaxTokens(body, maxTokens)
            input = .object(["invokeModel": .object(["body": .string(Base64.encode(complete))])])
        case .converse:
            guard request.dialect == .openAI else { throw PluginError(.unsupported, "Bedrock Converse counts OpenAI chat bodies") }
            let members = try ConverseRequest.convert(request.body).objectValue ?? []
            input = .object(["converse": .object(members.filter { Self.countedConverseMembers.contains($0.key) })])
        }
        let path: String
        do { path = try BedrockRuntime.path(modelID: request.model, operation: .countTokens) } catch {
            throw PluginError(.invalidInput, error.description)
        }
        return try settings.signedRequest(path: path, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                                          body: JSONValue.object(["input": input]).serialized())
    }

    /// `{"inputTokens": N}` -> `{"input_tokens": N}`; an AWS error in the body's dialect, its status kept.
    func convertCount(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        guard (200..<300).contains(response.status) else { return Self.awsError(response) }
        return try .tokenCount(status: response.status, body: response.body, field: "inputTokens")
    }
}

/// ConverseStream's event-stream frames -> OpenAI SSE chunks.
///
///     messageStart                            -> {"delta":{"role":"assistant","content":""}}
///     contentBlockStart {start:{toolUse}}      -> tool_calls[{index, id, type, function:{name, arguments:""}}]
///     contentBlockDelta {delta:{text}}         -> {"delta":{"content":...}}
///     contentBlockDelta {delta:{toolUse:{input}}} -> tool_calls[{index, function:{arguments: input}}]
///     contentBlockDelta {delta:{reasoningContent:{text}}} -> {"delta":{"reasoning_content":...}}
///     messageStop {stopReason}                 -> {"delta":{},"finish_reason":...}
///     metadata {usage}                         -> usage (and the include_usage chunk), then [DONE]
///
/// The tool call index counts tool blocks in order of appearance. An exception frame
/// (`throttlingException`, `modelStreamErrorException`, ...) ends the stream with
/// `.upstream("<type>: <message>")`; so does a corrupt frame, a truncated one, or an end
/// without `messageStop`.
final class ConverseStream: AdaptorStream {
    private var decoder = EventStreamDecoder()
    private let writer: OpenAIChunkWriter
    private let includeUsage: Bool
    /// contentBlockIndex -> OpenAI tool call index.
    private var toolIndex: [Int64: Int] = [:]
    private var stopped = false
    private var sawMetadata = false
    private var done = false

    init(writer: OpenAIChunkWriter, includeUsage: Bool) {
        self.writer = writer
        self.includeUsage = includeUsage
    }

    func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        try decoder.events(in: chunk, into: &out) { type, payload, out throws(PluginError) in
            guard !done else { return }
            let json: JSONValue
            do { json = try JSONParser.parse(payload) } catch {
                throw PluginError(.upstream, "a Converse \(type) event is not JSON: \(error)")
            }
            try handle(type, json, into: &out, usage: &usage)
        }
        return out
    }

    func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        do { try decoder.finish() } catch { throw PluginError(.upstream, error.description) }
        guard stopped else { throw PluginError(.upstream, "the Converse stream ended before messageStop") }
        guard !done else { return [] }
        done = true
        return OpenAIChunkWriter.done
    }

    private func handle(_ type: String, _ json: JSONValue, into out: inout [UInt8], usage: inout PluginUsage) throws(PluginError) {
        switch type {
        case "messageStart":
            out += writer.chunk(delta: .object(["role": .string(json["role"]?.stringValue ?? "assistant"), "content": .string("")]))
        case "contentBlockStart":
            guard let use = json["start"]?["toolUse"] else { return }
            guard let id = use["toolUseId"]?.stringValue, let name = use["name"]?.stringValue else {
                throw PluginError(.upstream, "a Converse contentBlockStart toolUse lacks toolUseId or name")
            }
            let index = tool(json["contentBlockIndex"]?.int64Value ?? 0)
            out += writer.chunk(delta: .object(["tool_calls": .array([.object([
                "index": .int(index), "id": .string(id), "type": .string("function"),
                "function": .object(["name": .string(name), "arguments": .string("")]),
            ])])]))
        case "contentBlockDelta":
            guard let delta = json["delta"] else { throw PluginError(.upstream, "a Converse contentBlockDelta has no delta") }
            if let text = delta["text"]?.stringValue {
                if !text.isEmpty { out += writer.chunk(delta: .object(["content": .string(text)])) }
            } else if let use = delta["toolUse"] {
                guard let input = use["input"]?.stringValue else {
                    throw PluginError(.upstream, "a Converse toolUse delta has no string input")
                }
                let index = tool(json["contentBlockIndex"]?.int64Value ?? 0)
                out += writer.chunk(delta: .object(["tool_calls": .array([.object([
                    "index": .int(index), "function": .object(["arguments": .string(input)]),
                ])])]))
            } else if let text = delta["reasoningContent"]?["text"]?.stringValue, !text.isEmpty {
                out += writer.chunk(delta: .object(["reasoning_content": .string(text)]))
            }
        case "messageStop":
            stopped = true
            out += writer.chunk(delta: .object([]), finishReason: ConverseResponse.finishReason(json["stopReason"]?.stringValue))
            if sawMetadata { out += end() }
        case "metadata":
            sawMetadata = true
            if let counted = ConverseResponse.usage(json["usage"]) {
                usage.merge(counted)
                if includeUsage { out += writer.usageChunk(usage) }
            }
            if stopped { out += end() }
        default:
            break  // contentBlockStop, and events newer than this plugin
        }
    }

    private func tool(_ block: Int64) -> Int {
        if let index = toolIndex[block] { return index }
        let index = toolIndex.count
        toolIndex[block] = index
        return index
    }

    private func end() -> [UInt8] {
        done = true
        return OpenAIChunkWriter.done
    }
}
