import AnthropicWire
import TollgatePluginKit

/// Which Bedrock Runtime API a `bedrock` channel calls (`options.api`).
public enum BedrockAPI: String, Sendable {
    /// `/model/{id}/converse` and `/converse-stream`, for any model (the default).
    case converse
    /// `/model/{id}/invoke` and `/invoke-with-response-stream` with the model's own body; served
    /// for Anthropic models, whose body is Anthropic Messages with `anthropic_version:
    /// bedrock-2023-05-31` and no `model`.
    case invoke
}

/// InvokeModel and InvokeModelWithResponseStream for Anthropic models.
///
/// - OpenAI client: the body is written by `AnthropicWire.requestBody` (`platformVersion:
///   bedrockVersion`), the answer converted by `AnthropicWire.convertResponse`, the stream's
///   `chunk` events unwrapped (`BedrockChunk`), re-framed as Anthropic SSE and fed to
///   `AnthropicWire`'s stream converter.
/// - Anthropic client (`accepts(.anthropic, …)`): the client's body with the one edit a platform
///   needs (`AnthropicWire.platformBody`: `model` removed, `anthropic_version` set), the answer
///   relayed as it is and the stream's events relayed as Anthropic SSE, usage read on the way.
/// - Either way, `anthropic-beta` client headers become the body's `anthropic_beta` array.
/// - Errors: AWS error answers (`{"message": ...}` with `x-amzn-ErrorType`) become OpenAI errors
///   for OpenAI clients and Anthropic errors (`{"type":"error","error":{type,message}}`) for
///   Anthropic clients, the status kept; an `exception` frame in mid-stream ends the stream with
///   `.upstream("<type>: <message>")`.
enum InvokeModel {
    /// True for Anthropic model ids: `anthropic.claude-…`, a cross-region inference profile
    /// `us.anthropic.claude-…` (`eu.`, `apac.`, `global.`, `us-gov.` …), or a foundation-model or
    /// inference-profile ARN ending in one of those. Application inference profile ARNs are
    /// opaque (`…:application-inference-profile/abc123`) and are not recognized.
    static func isAnthropic(_ modelID: String) -> Bool {
        var id = Substring(modelID.lowercased())
        if id.hasPrefix("arn:"), let slash = id.lastIndex(of: "/") { id = id[id.index(after: slash)...] }
        let labels = id.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        if labels[0] == "anthropic" { return true }
        return labels.count == 3 && labels[1] == "anthropic" && !labels[0].isEmpty
            && labels[0].allSatisfy { $0.isLetter || $0 == "-" }
    }

    /// The client's `anthropic-beta` headers (comma-separated flags, possibly several headers) as
    /// the body's `anthropic_beta` array, which is where Bedrock reads them (as Anthropic's Bedrock
    /// SDK sends them). The member is inserted first; a body that has one keeps its own.
    static func addingBetas(_ body: [UInt8], clientHeaders: [(String, String)]) throws(PluginError) -> [UInt8] {
        let betas = clientHeaders.filter { $0.0.lowercased() == "anthropic-beta" }
            .flatMap { $0.1.split(separator: ",") }
            .map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
        guard !betas.isEmpty else { return body }
        let members: [RequestScan.MemberLocation]
        let bodyStart: Int
        do { (members, bodyStart) = try RequestScan.members(body) } catch {
            throw PluginError(.invalidInput, "request body is not a JSON object: \(error)")
        }
        guard !members.contains(where: { $0.key == "anthropic_beta" }) else { return body }
        var unique: [String] = []
        for beta in betas where !unique.contains(beta) { unique.append(beta) }
        var member = Array("\"anthropic_beta\":".utf8) + JSONValue.array(unique.map { .string($0) }).serialized()
        if !members.isEmpty { member.append(UInt8(ascii: ",")) }
        var out = body
        out.insert(contentsOf: member, at: bodyStart)
        return out
    }

    /// InvokeModel's Anthropic schema requires `max_tokens`, which a count request has no use for:
    /// `value` is added when the body has none.
    static func requiringMaxTokens(_ body: [UInt8], _ value: Int64) throws(PluginError) -> [UInt8] {
        guard body.withUnsafeBytes({ RequestScan.member("max_tokens", in: $0) }) == nil else { return body }
        guard case .object(let members)? = try? JSONParser.parse(body) else {
            throw PluginError(.invalidInput, "request body is not a JSON object")
        }
        return JSONValue.object(members + [.init("max_tokens", .int(value))]).serialized()
    }

    static func unsupported(_ model: String) -> PluginError {
        PluginError(.unsupported, "Bedrock InvokeModel (options.api: invoke) serves Anthropic models only "
            + "(anthropic.*, or an inference profile such as us.anthropic.*); \"\(model)\" is not one: use options.api: converse for it")
    }

    /// AWS error answer -> Anthropic error body, for Anthropic clients.
    static func anthropicError(status: Int, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        // The OpenAI form already reads AWS's shapes; re-use its message and exception name.
        let openAI = try? JSONParser.parse(AWSErrorBody.openAI(status: status, headers: headers, body: body))
        let message = openAI?["error"]?["message"]?.stringValue ?? "upstream error (HTTP \(status))"
        let type: String = switch status {
        case 400: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503, 529: "overloaded_error"
        default: "api_error"
        }
        let exception = openAI?["error"]?["type"]?.stringValue
        let text = exception.map { $0 == "upstream_error" ? message : "\($0): \(message)" } ?? message
        return JSONValue.object(["type": .string("error"), "error": .object([
            "type": .string(type), "message": .string(text),
        ])]).serialized()
    }
}

/// InvokeModelWithResponseStream's event-stream frames -> Anthropic SSE -> `inner` (AnthropicWire's
/// converter to OpenAI chunks, or its passthrough relay).
///
/// Each `chunk` event's payload is `{"bytes":"<base64>"}` holding one Anthropic event as JSON; it
/// is written to `inner` as `event: <type>\ndata: <json>\n\n` (the JSON re-serialized only if it
/// spans lines). Other events are ignored; an `exception` or `error` frame, a corrupt or
/// truncated frame, or a chunk that is not an Anthropic event ends the stream with `.upstream`,
/// after the output produced before it.
final class InvokeStream: AdaptorStream {
    private var decoder = EventStreamDecoder()
    private let inner: any AdaptorStream

    init(inner: any AdaptorStream) { self.inner = inner }

    func feed(_ chunk: UnsafeRawBufferPointer, usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        try decoder.events(in: chunk, into: &out) { type, payload, out throws(PluginError) in
            let sse = try Self.sse(type: type, payload: payload)
            guard !sse.isEmpty else { return }
            var failure: PluginError?
            sse.withUnsafeBytes { raw in
                do throws(PluginError) { out += try inner.feed(raw, usage: &usage) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        return out
    }

    func finish(usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        do { try decoder.finish() } catch { throw PluginError(.upstream, error.description) }
        return try inner.finish(usage: &usage)
    }

    /// One `chunk` event as Anthropic SSE bytes (empty for other event types).
    static func sse(type: String, payload: [UInt8]) throws(PluginError) -> [UInt8] {
        guard type == BedrockChunk.eventType else { return [] }
        var bytes: [UInt8]
        do { bytes = try BedrockChunk.decode(payload) } catch { throw PluginError(.upstream, error.description) }
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch {
            throw PluginError(.upstream, "a Bedrock chunk is not an Anthropic event (not JSON: \(error))")
        }
        guard let name = json["type"]?.stringValue, !name.isEmpty,
              !name.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else {
            throw PluginError(.upstream, "a Bedrock chunk is not an Anthropic event (no string \"type\")")
        }
        // An SSE data line cannot hold a line break; compact JSON has none outside strings.
        if bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) { bytes = json.serialized() }
        return Array("event: \(name)\ndata: ".utf8) + bytes + Array("\n\n".utf8)
    }
}
