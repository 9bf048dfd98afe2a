import TollgatePluginKit

/// A `sagemaker` channel: `InvokeEndpoint` and `InvokeEndpointWithResponseStream` on the endpoint
/// named by the upstream model name, signed with SigV4 (service `sagemaker`).
///
/// The body is the model container's own format and passes through unchanged, both ways. Clients
/// of `/v1/chat/completions` therefore reach containers that speak OpenAI chat (TGI's Messages
/// API, vLLM, LMI's OpenAI mode, ...). Usage is read from the answer at `options.usage_path`
/// (prompt) and `options.usage_completion_path` (completion) when configured, else from an OpenAI
/// `usage` object, else estimated (prompt ≈ request bytes / 4, completion ≈ answer text bytes / 4,
/// marked estimated).
///
/// Streams: SageMaker frames the container's bytes in `PayloadPart` events (the raw bytes are the
/// frame's payload); they are concatenated and forwarded as they are, assumed to be OpenAI SSE,
/// which is also read for a `usage` object. As the openai passthrough does, a chat stream whose
/// client did not ask for usage asks the container for it (`stream_options.include_usage`, unless
/// `options.include_usage` is false), and the usage chunk that brings is left out of the client's
/// stream.
public final class SageMakerChannel: AdaptorChannel {
    public let settings: AWSChannelSettings

    public init(_ settings: AWSChannelSettings) { self.settings = settings }

    public func classify(_ answer: PluginAnswer) -> ResponseClassification? { BedrockAnswers.classify(answer) }

    /// Usage without a reported count is estimated from the request's size.
    public func readsRequestBody(_ operation: Operation) -> Bool { true }

    public func buildRequest(_ request: PluginRequest) throws(PluginError) -> PluginUpstreamRequest {
        // An endpoint has no counter: a count sent on would run (and not bill) a generation.
        guard request.operation != .countTokens else { throw PluginError(.unsupported, "SageMaker endpoints have no token counter") }
        var body = request.body
        if request.stream && asksForUsage(request.operation, request.dialect), let scan = try? RequestScan.scan(body), scan.includeUsage != true {
            let edit = body.withUnsafeBytes { scan.includeUsageEdit(in: $0) }
            body.replaceSubrange(edit.range, with: edit.bytes)
        }
        return try build(model: request.model, body: body, stream: request.stream)
    }

    /// Whether a stream of this call asks the container for usage the client may not have asked
    /// for: an OpenAI chat completion's, unless the channel's `options.include_usage` is false.
    func asksForUsage(_ operation: Operation, _ dialect: Dialect) -> Bool {
        settings.includeUsage && operation == .chat && dialect == .openAI
    }

    public func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        convert(status: response.status, headers: response.headers, body: response.body, requestBody: response.requestBody)
    }

    public func makeStream(_ params: PluginStreamParams) throws(PluginError) -> any AdaptorStream {
        stream(requestBody: params.requestBody, stripUsage: asksForUsage(params.operation, params.dialect) && !params.includeUsage)
    }

    func build(model: String, body: [UInt8], stream: Bool) throws(PluginError) -> PluginUpstreamRequest {
        let path: String
        do {
            path = try SageMakerRuntime.path(endpointName: model, operation: stream ? .invocationsResponseStream : .invocations)
        } catch { throw PluginError(.invalidInput, error.description) }
        // InvokeEndpoint hands `Accept` to the container (the answer's format); the streaming call
        // takes that from X-Amzn-SageMaker-Accept instead, so it gets no Accept, as botocore sends.
        var headers = [("Content-Type", "application/json")]
        if !stream { headers.append(("Accept", "application/json")) }
        return try settings.signedRequest(path: path, headers: headers, body: body)
    }

    func convert(status: Int, headers: [(String, String)], body: [UInt8], requestBody: [UInt8]) -> PluginConvertedResponse {
        guard (200..<300).contains(status) else {
            return PluginConvertedResponse(status: status, body: AWSErrorBody.openAI(status: status, headers: headers, body: body))
        }
        let json = try? JSONParser.parse(body)
        var usage = json.map { reported(in: $0) } ?? PluginUsage()
        if usage.prompt == nil || usage.completion == nil {
            let textBytes = json.flatMap(SageMakerUsage.answerTextBytes) ?? body.count
            usage = SageMakerUsage.estimate(usage, requestBytes: requestBody.count, completionBytes: textBytes)
        }
        return PluginConvertedResponse(status: status, body: body, usage: usage)
    }

    func stream(requestBody: [UInt8], stripUsage: Bool = false) -> SageMakerStream {
        SageMakerStream(requestBytes: requestBody.count, stripUsage: stripUsage, read: { [settings] json in
            SageMakerUsage.reported(in: json, prompt: settings.usagePromptPath, completion: settings.usageCompletionPath)
        })
    }

    func reported(in json: JSONValue) -> PluginUsage {
        SageMakerUsage.reported(in: json, prompt: settings.usagePromptPath, completion: settings.usageCompletionPath)
    }
}

enum SageMakerUsage {
    /// The counts an answer (or one stream event) reports: at the configured paths, else in an
    /// OpenAI `usage` object. A path that leads to an object is read as an OpenAI usage object.
    static func reported(in json: JSONValue, prompt: UsagePath?, completion: UsagePath?) -> PluginUsage {
        var usage = PluginUsage()
        if let prompt {
            if let value = prompt.value(in: json), case .object = value {
                usage = TokenUsage(openAI: value) ?? usage
            } else {
                usage.prompt = prompt.int(in: json)
            }
        }
        if let completion { usage.completion = completion.int(in: json) ?? usage.completion }
        if usage.prompt == nil && usage.completion == nil, let found = TokenUsage(openAI: json["usage"] ?? .null) {
            usage = found
        }
        return usage
    }

    /// Bytes of the generated text of an OpenAI-shaped answer (chat or completions), if it is one.
    static func answerTextBytes(_ json: JSONValue) -> Int? {
        guard let choices = json["choices"]?.arrayValue else { return nil }
        return choices.reduce(0) { sum, choice in
            let message = choice["message"]
            var bytes = (message?["content"]?.stringValue ?? choice["text"]?.stringValue)?.utf8.count ?? 0
            for call in message?["tool_calls"]?.arrayValue ?? [] {
                bytes += (call["function"]?["arguments"]?.stringValue?.utf8.count ?? 0) + (call["function"]?["name"]?.stringValue?.utf8.count ?? 0)
            }
            return sum + bytes
        }
    }

    /// Fills the counts `usage` lacks with byte-based estimates (4 bytes a token) and marks it so.
    static func estimate(_ usage: PluginUsage, requestBytes: Int, completionBytes: Int) -> PluginUsage {
        var out = usage
        if out.prompt == nil { out.prompt = Int64((requestBytes + 3) / 4) }
        if out.completion == nil { out.completion = Int64((completionBytes + 3) / 4) }
        out.estimated = true
        return out
    }
}

/// SageMaker's response stream -> the container's own bytes, forwarded as they come.
final class SageMakerStream: AdaptorStream {
    private var decoder = EventStreamDecoder()
    private var scanner: SSEUsageScanner
    /// Leaves out the usage chunk the gateway asked for on the client's behalf (nil: it did not).
    private var strip: OpenAIStreamMeter?
    private let requestBytes: Int
    private var forwardedBytes = 0

    init(requestBytes: Int, stripUsage: Bool = false, read: @escaping (JSONValue) -> PluginUsage) {
        self.requestBytes = requestBytes
        scanner = SSEUsageScanner(read: read)
        strip = stripUsage ? OpenAIStreamMeter(stripUsageChunk: true) : nil
    }

    func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        try decoder.events(in: chunk, into: &out) { type, payload, out throws(PluginError) in
            guard type == "PayloadPart" else { return }
            if strip != nil {
                do { out += try payload.withUnsafeBytes { try strip!.read($0) } ?? [] } catch {
                    throw PluginError(.upstream, "the container sent an SSE event larger than the gateway accepts", output: out)
                }
            } else {
                out += payload
            }
            forwardedBytes += payload.count
            scanner.feed(payload)
        }
        usage.merge(scanner.usage)
        return out
    }

    func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        do { try decoder.finish() } catch { throw PluginError(.upstream, error.description) }
        scanner.finish()
        usage.merge(scanner.usage)
        if usage.prompt == nil || usage.completion == nil {
            let completionBytes = scanner.sawJSONEvents ? scanner.contentBytes : forwardedBytes
            usage = SageMakerUsage.estimate(usage, requestBytes: requestBytes, completionBytes: completionBytes)
        }
        // Unstripped, a last event cut short went on as it came; stripping holds an event until
        // its end, so a cut one ends the stream as an error.
        if strip?.hasPartialEvent == true { throw PluginError(.upstream, "the container's stream ended inside an event") }
        return []
    }
}

/// Reads OpenAI SSE as it passes (any split) for usage and the length of the generated text.
/// Events are bounded: at an event longer than `maxEvent` the scanner stops reading (the bytes
/// still pass), and what it has not read is estimated.
struct SSEUsageScanner {
    static let maxEvent = 1 << 20
    let read: (JSONValue) -> PluginUsage
    private(set) var usage = PluginUsage()
    private(set) var contentBytes = 0
    private(set) var sawJSONEvents = false
    private var parser = SSEParser(maxEventBytes: Self.maxEvent)
    private(set) var gaveUp = false

    init(read: @escaping (JSONValue) -> PluginUsage) { self.read = read }

    mutating func feed(_ bytes: [UInt8]) {
        guard !gaveUp else { return }
        var events: [SSEEvent] = []
        do { try parser.feed(bytes) { events.append($0) } } catch { gaveUp = true }
        for event in events { process(event) }
    }

    /// The stream ended: a last event without its blank line still counts.
    mutating func finish() {
        guard !gaveUp, let last = parser.finish() else { return }
        process(last)
    }

    private mutating func process(_ event: SSEEvent) {
        guard event.hasData, !event.isDone, let json = try? JSONParser.parse(event.data) else { return }
        sawJSONEvents = true
        usage.merge(read(json))
        for choice in json["choices"]?.arrayValue ?? [] {
            let delta = choice["delta"]
            contentBytes += (delta?["content"]?.stringValue ?? choice["text"]?.stringValue)?.utf8.count ?? 0
            for call in delta?["tool_calls"]?.arrayValue ?? [] {
                contentBytes += (call["function"]?["arguments"]?.stringValue?.utf8.count ?? 0)
                    + (call["function"]?["name"]?.stringValue?.utf8.count ?? 0)
            }
        }
    }
}
