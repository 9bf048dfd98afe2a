@_exported import TollgatePluginKit

/// Anthropic's Messages API on the wire, for every plugin that reaches Claude: the Claude plugin
/// (Anthropic's own API), Vertex AI (`publishers/anthropic/...:rawPredict`) and Bedrock
/// (`InvokeModel`). The transport (URL, auth, headers) is the plugin's; this is only the bodies:
///
/// - OpenAI Chat Completions request (the gateway's internal representation) → Anthropic body
///   (`requestBody`), see `RequestConversion` for the mapping and its choices;
/// - Anthropic answer → OpenAI chat completion, Anthropic error → OpenAI error with the status
///   kept (`convertResponse`);
/// - Anthropic SSE → OpenAI `chat.completion.chunk` events (`makeStream`);
/// - a client already speaking Anthropic: the body with the upstream model set
///   (`settingModel`) or shaped for a platform (`platformBody`), the answer and the stream
///   relayed byte for byte while usage is read (`passthroughResponse`, `makePassthroughStream`);
/// - usage in the gateway's convention (`AnthropicUsage`) and `max_tokens` defaults
///   (`maxOutputTokens(forModel:)`).
///
/// Every entry is stateless and safe from any thread; streams are used by one thread at a time.
public enum AnthropicWire {
    /// Anthropic events are small; one larger than this is an upstream gone wrong.
    public static let maxEventBytes = 8 << 20

    /// `anthropic_version` in Vertex AI bodies.
    public static let vertexVersion = "vertex-2023-10-16"
    /// `anthropic_version` in Bedrock InvokeModel bodies.
    public static let bedrockVersion = "bedrock-2023-05-31"

    /// How an OpenAI request becomes an Anthropic body.
    public struct RequestOptions: Sendable, Equatable {
        /// Adds `"stream": true`.
        public var stream: Bool
        /// `max_tokens` when the request gives none (Anthropic requires it); nil: the model's
        /// ceiling (`maxOutputTokens(forModel:)`).
        public var maxTokensDefault: Int64?
        /// Anthropic on a cloud platform: the body carries this `anthropic_version`
        /// (`vertexVersion`, `bedrockVersion`) and no `model`, which goes in the URL. Nil:
        /// Anthropic's own API (`model` in the body, the version in a header).
        public var platformVersion: String?

        public init(stream: Bool = false, maxTokensDefault: Int64? = nil, platformVersion: String? = nil) {
            self.stream = stream
            self.maxTokensDefault = maxTokensDefault
            self.platformVersion = platformVersion
        }
    }

    // MARK: - Requests

    /// An OpenAI Chat Completions request → an Anthropic Messages body. `model` is the upstream
    /// name: it goes in the body (unless `options.platformVersion`) and picks the default
    /// `max_tokens`.
    public static func requestBody(from request: JSONValue, model: String, options: RequestOptions = RequestOptions())
        throws(PluginError) -> JSONValue {
        try RequestConversion(maxTokensDefault: options.maxTokensDefault, platformVersion: options.platformVersion)
            .anthropicBody(from: request, model: model, stream: options.stream)
    }

    /// The same from the client's bytes; a body that is not JSON is `.invalidInput`.
    public static func requestBody(fromOpenAI body: [UInt8], model: String, options: RequestOptions = RequestOptions())
        throws(PluginError) -> [UInt8] {
        let conversion = RequestConversion(maxTokensDefault: options.maxTokensDefault, platformVersion: options.platformVersion)
        if let plain = body.withUnsafeBytes({ PlainChat.anthropicBody($0, model: model, conversion: conversion, stream: options.stream) }) {
            return plain
        }
        let json: JSONValue
        do { json = try JSONParser.parse(body) } catch {
            throw PluginError(.invalidInput, "request body is not JSON: \(error)")
        }
        return try conversion.anthropicBody(from: json, model: model, stream: options.stream).serialized()
    }

    /// An Anthropic body from a client: only `model` changes, to the upstream name.
    public static func settingModel(_ model: String, in body: [UInt8]) throws(PluginError) -> [UInt8] {
        try Passthrough.settingModel(model, in: body)
    }

    /// An Anthropic body from a client, for a platform that takes the model in the URL: `model`
    /// (and any member named in `removing`) removed, `anthropic_version` set to
    /// `anthropicVersion`; every other byte kept. Bedrock passes `removing: ["stream"]`: the
    /// operation decides streaming there, and its schema has no `stream` member.
    public static func platformBody(_ body: [UInt8], anthropicVersion: String, removing: [String] = []) throws(PluginError) -> [UInt8] {
        try Passthrough.platformBody(body, anthropicVersion: anthropicVersion, removing: removing)
    }

    /// The output ceiling of a Claude model, the `max_tokens` sent when nothing else gives one.
    public static func maxOutputTokens(forModel model: String) -> Int64 { MaxOutputTokens.forModel(model) }

    // MARK: - Answers

    /// A complete upstream answer for the client: relayed as it is when the client speaks
    /// Anthropic (`response.dialect == .anthropic`), else converted to OpenAI (errors too, with
    /// their status kept). `created` is the chat completion's timestamp (Unix seconds).
    public static func convertResponse(_ response: PluginResponse, created: Int64) throws(PluginError) -> PluginConvertedResponse {
        switch response.dialect {
        case .anthropic: try Passthrough.response(response)
        default: try ResponseConversion.openAI(response, created: created)
        }
    }

    /// An Anthropic answer relayed untouched, its usage read.
    public static func passthroughResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        try Passthrough.response(response)
    }

    /// An Anthropic error body (or anything a proxy put there) → an OpenAI error, status kept.
    public static func errorResponse(_ response: PluginResponse) -> PluginConvertedResponse {
        ResponseConversion.error(response)
    }

    /// Anthropic `stop_reason` → OpenAI `finish_reason`.
    public static func finishReason(_ reason: String?) -> String { ResponseConversion.finishReason(reason) }

    // MARK: - Streams

    /// A stream transducer for the client's dialect: the upstream's events relayed as they are
    /// for an Anthropic client, else converted to OpenAI chunks named `params.model`.
    public static func makeStream(_ params: PluginStreamParams, created: Int64) -> any AdaptorStream {
        switch params.dialect {
        case .anthropic: PassthroughStream()
        default: StreamConversion(model: params.model, includeUsage: params.includeUsage, created: created)
        }
    }

    /// Anthropic SSE → OpenAI chunks (a usage chunk at the end when `includeUsage`).
    public static func makeStream(model: String, includeUsage: Bool, created: Int64) -> any AdaptorStream {
        StreamConversion(model: model, includeUsage: includeUsage, created: created)
    }

    /// Anthropic SSE relayed byte for byte, usage read, an `error` event held back for the core.
    public static func makePassthroughStream() -> any AdaptorStream { PassthroughStream() }
}
