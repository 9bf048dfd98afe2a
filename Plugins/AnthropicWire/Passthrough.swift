import TollgatePluginKit

/// A client speaking Anthropic Messages to a Claude channel: its bytes go up and the upstream's
/// come back unchanged; the plugin only reads usage on the way.
enum Passthrough {
    /// The body with its `model` set to the upstream name (a channel's `model_map` may rename
    /// it). Only that value's bytes change; a body without `model` gets one inserted first.
    static func settingModel(_ model: String, in body: [UInt8]) throws(PluginError) -> [UInt8] {
        let scan: RequestScan
        do { scan = try RequestScan.scan(body) } catch {
            throw PluginError(.invalidInput, "request body is not a JSON object: \(error)")
        }
        if scan.model == model { return body }
        let quoted = JSONValue.quoted(model)
        if let range = scan.modelRange {
            var edited = body
            edited.replaceSubrange(range, with: quoted)
            return edited
        }
        let isEmptyObject = body[scan.bodyStart...].allSatisfy { [0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: "}")].contains($0) }
        var edited = body
        edited.insert(contentsOf: Array("\"model\":".utf8) + quoted + (isEmptyObject ? [] : [UInt8(ascii: ",")]), at: scan.bodyStart)
        return edited
    }

    /// A Messages body for Anthropic on a cloud platform (Vertex AI's `rawPredict`, Bedrock's
    /// `InvokeModel`), where the model is in the URL: every `model` member (and every member
    /// named in `removing`) is removed and
    /// `anthropic_version` is set to the platform's (replaced where the client gave one, else
    /// inserted first). The rest of the body keeps its bytes; a body that already fits comes back
    /// as it is.
    static func platformBody(_ body: [UInt8], anthropicVersion: String, removing: [String] = []) throws(PluginError) -> [UInt8] {
        let members: [RequestScan.MemberLocation]
        let bodyStart: Int
        do { (members, bodyStart) = try RequestScan.members(body) } catch {
            throw PluginError(.invalidInput, "request body is not a JSON object: \(error)")
        }
        let version = JSONValue.quoted(anthropicVersion)
        var out = Array(body[..<bodyStart])
        var emitted = false
        if !members.contains(where: { $0.key == "anthropic_version" }) {
            out += Array("\"anthropic_version\":".utf8) + version
            emitted = true
        }
        let removed = Set(["model"] + removing)
        for (index, member) in members.enumerated() where !removed.contains(member.key) {
            // What stood between this member and the one before: whitespace, and a comma unless first.
            var separator = body[(index == 0 ? bodyStart : members[index - 1].valueRange.upperBound)..<member.range.lowerBound]
            if emitted {
                if index == 0 { out.append(UInt8(ascii: ",")) }
            } else if let comma = separator.firstIndex(of: UInt8(ascii: ",")) {
                separator = separator[(comma + 1)...]
            }
            out += separator
            if member.key == "anthropic_version" {
                out += body[member.range.lowerBound..<member.valueRange.lowerBound] + version
            } else {
                out += body[member.range]
            }
            emitted = true
        }
        out += body[(members.last?.valueRange.upperBound ?? bodyStart)...]
        return out
    }

    /// The upstream's answer as it is, success or error. Usage is read from a 2xx body's `usage`
    /// member without building the rest; a 2xx that is not valid JSON is a broken answer, which
    /// the client gets as a 502 in its dialect rather than as a 200 it cannot read.
    private static let usageMember = RequestScan.MemberNames("usage")

    static func response(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        var usage = AnthropicUsage()
        if (200..<300).contains(response.status) {
            if let error = response.body.withUnsafeBytes({ JSONParser.validate($0) }) {
                throw PluginError(.upstream, "Anthropic answered HTTP \(response.status) with a body that is not JSON: \(error)")
            }
            usage.read(response.body.withUnsafeBytes { RequestScan.members(usageMember, in: $0)[0] })
        }
        return PluginConvertedResponse(status: response.status, body: response.body, usage: usage.tokenUsage)
    }
}

/// Relays an Anthropic SSE stream as it is while a side parse reads usage (`message_start`'s
/// `message.usage`, then `message_delta`'s cumulative `usage`). Bytes are forwarded event by
/// event, so an upstream `error` event can be held back: the plugin reports it as a failure and
/// the core writes its own error event in the client's dialect (a plugin never writes one).
final class PassthroughStream: AdaptorStream {
    private var reader = SSEParser(maxEventBytes: AnthropicWire.maxEventBytes, keepRaw: true, reportsEmptyEvents: true)
    private var usage = AnthropicUsage()
    private var sawStop = false

    func feed(_ chunk: UnsafeRawBufferPointer, usage total: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        defer { total.merge(usage.tokenUsage) }
        try reader.read(chunk) { event throws(PluginError) in
            try read(event, forwarded: out)
            out += event.raw
        }
        out += reader.takeLeadingLineEnd()
        return out
    }

    func finish(usage total: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        if let last = reader.finish() {
            try read(last, forwarded: out)
            out += last.raw
        }
        total.merge(usage.tokenUsage)
        guard sawStop else { throw PluginError(.upstream, "stream ended before message_stop", output: out) }
        return out
    }

    private func read(_ event: SSEEvent, forwarded: [UInt8]) throws(PluginError) {
        guard event.hasData, let json = try? JSONParser.parse(event.data) else { return }
        switch json["type"]?.stringValue ?? String(decoding: event.name, as: UTF8.self) {
        case "message_start": usage.read(json["message"]?["usage"])
        case "message_delta": usage.read(json["usage"])
        case "message_stop": sawStop = true
        case "error":  // held back, but not the line end before it (see SSEEvent.leadingLineEnd)
            throw PluginError(.upstream, StreamConversion.errorMessage(json), output: forwarded + event.raw.prefix(event.leadingLineEnd))
        default: break
        }
    }
}
