import Foundation
@testable import TollgatePluginKit
@testable import AnthropicWire

/// Shorthands for the conversion tests: each goes through the public `AnthropicWire` entries.
enum Wire {
    static func json(_ text: String) -> JSONValue {
        do { return try JSONParser.parse(text) } catch { fatalError("test JSON does not parse: \(error)\n\(text)") }
    }

    /// The Anthropic body converted from an OpenAI body.
    static func convert(_ body: String, model: String = "claude-sonnet-4-5", stream: Bool = false, maxTokensDefault: Int64? = nil,
                        platformVersion: String? = nil) throws(PluginError) -> JSONValue {
        let bytes = try AnthropicWire.requestBody(fromOpenAI: Array(body.utf8), model: model,
                                                  options: .init(stream: stream, maxTokensDefault: maxTokensDefault,
                                                                 platformVersion: platformVersion))
        return json(String(decoding: bytes, as: UTF8.self))
    }

    static func response(_ body: String, status: Int = 200, dialect: Dialect = .openAI, model: String = "my-claude") -> PluginResponse {
        PluginResponse(operation: .chat, status: status, headers: [("content-type", "application/json")], body: Array(body.utf8),
                       model: model, requestBody: [], dialect: dialect)
    }

    /// A complete answer converted for the client, `created` fixed at 0.
    static func convertResponse(_ response: PluginResponse) throws(PluginError) -> PluginConvertedResponse {
        try AnthropicWire.convertResponse(response, created: 0)
    }

    static func stream(includeUsage: Bool = false, dialect: Dialect = .openAI) throws(PluginError) -> any AdaptorStream {
        AnthropicWire.makeStream(PluginStreamParams(operation: .chat, model: "my-claude", headers: [], includeUsage: includeUsage,
                                                    requestBody: [], dialect: dialect), created: 0)
    }

    /// Feeds `chunks` to a fresh stream and finishes it: the bytes out, the usage, the failure.
    static func run(_ chunks: [[UInt8]], includeUsage: Bool = false, dialect: Dialect = .openAI)
        -> (out: [UInt8], usage: PluginUsage, error: PluginError?) {
        var out: [UInt8] = []
        var usage = PluginUsage()
        do throws(PluginError) {
            let stream = try stream(includeUsage: includeUsage, dialect: dialect)
            for chunk in chunks { out += try feed(stream, chunk, &usage) }
            out += try stream.finish(usage: &usage)
            return (out, usage, nil)
        } catch {
            return (out + error.output, usage, error)
        }
    }

    /// Feeds one chunk (typed throws survive; `withUnsafeBytes` would erase the error type).
    static func feed(_ stream: any AdaptorStream, _ chunk: [UInt8], _ usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 1)
        defer { raw.deallocate() }
        raw.copyBytes(from: chunk)
        return try stream.feed(UnsafeRawBufferPointer(raw), usage: &usage)
    }

    static func run(_ text: String, includeUsage: Bool = false, dialect: Dialect = .openAI)
        -> (out: [UInt8], usage: PluginUsage, error: PluginError?) {
        run([Array(text.utf8)], includeUsage: includeUsage, dialect: dialect)
    }

    /// The JSON payloads of OpenAI SSE output, `[DONE]` as the string "[DONE]".
    static func events(_ out: [UInt8]) -> [JSONValue] {
        String(decoding: out, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
            guard block.hasPrefix("data: ") else { return nil }
            let data = String(block.dropFirst(6))
            return data == "[DONE]" ? .string("[DONE]") : json(data)
        }
    }

    /// An Anthropic SSE event.
    static func event(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
