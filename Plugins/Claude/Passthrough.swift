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

    /// The upstream's answer as it is, success or error. Usage is read from a 2xx body's `usage`
    /// member without building the rest; a 2xx that is not JSON still goes to the client as is
    /// (it is the upstream's answer, not one this plugin made) and simply counts nothing.
    static func response(_ response: PluginResponse) -> PluginConvertedResponse {
        var usage = AnthropicUsage()
        if (200..<300).contains(response.status) {
            usage.read(response.body.withUnsafeBytes { RequestScan.member("usage", in: $0) })
        }
        return PluginConvertedResponse(status: response.status, body: response.body, usage: usage.tokenUsage)
    }
}

/// Relays an Anthropic SSE stream as it is while a side parse reads usage (`message_start`'s
/// `message.usage`, then `message_delta`'s cumulative `usage`). Bytes are forwarded event by
/// event, so an upstream `error` event can be held back: the plugin reports it as a failure and
/// the core writes its own error event in the client's dialect (a plugin never writes one).
final class PassthroughStream: AdaptorStream {
    private var reader = SSEReader(keepRaw: true)
    private var usage = AnthropicUsage()
    private var sawStop = false

    func feed(_ chunk: UnsafeRawBufferPointer, usage total: inout PluginUsage) throws(PluginError) -> [UInt8] {
        var out: [UInt8] = []
        defer { total.merge(usage.tokenUsage) }
        try reader.feed(chunk) { event throws(PluginError) in
            try read(event, forwarded: out)
            out += event.raw
        }
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
        case "error":
            throw PluginError(.upstream, StreamConversion.errorMessage(json), output: forwarded)
        default: break
        }
    }
}
