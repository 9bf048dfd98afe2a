import Foundation
import TollgatePluginKit
@testable import GeminiWire

func json(_ text: String) -> JSONValue {
    do { return try JSONParser.parse(text) } catch { fatalError("bad test JSON: \(error)\n\(text)") }
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Converts an OpenAI request body given as text.
func geminiRequest(_ text: String) throws(PluginError) -> JSONValue {
    try GenerateContentRequest.fromOpenAI(json(text))
}

/// Runs a stream over `input` cut into the pieces `cuts` describes (offsets), then finishes it.
func run(_ stream: some AdaptorStream, _ input: [UInt8], cuts: [Int] = []) throws(PluginError) -> (out: [UInt8], usage: PluginUsage) {
    var usage = PluginUsage()
    var out: [UInt8] = []
    var start = 0
    for cut in cuts + [input.count] where cut >= start {
        out += try feed(stream, Array(input[start..<cut]), &usage)
        start = cut
    }
    out += try stream.finish(usage: &usage)
    return (out, usage)
}

/// The JSON payloads of an OpenAI SSE output, `[DONE]` as nil.
func events(_ out: [UInt8]) -> [JSONValue?] {
    String(decoding: out, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
        let data = event.hasPrefix("data: ") ? String(event.dropFirst(6)) : event
        return data == "[DONE]" ? nil : json(data)
    }
}

/// One `feed` call with `bytes`.
func feed(_ stream: some AdaptorStream, _ bytes: [UInt8], _ usage: inout PluginUsage) throws(PluginError) -> [UInt8] {
    var result: Result<[UInt8], PluginError> = .success([])
    bytes.withUnsafeBytes { raw in
        do throws(PluginError) { result = .success(try stream.feed(raw, usage: &usage)) } catch { result = .failure(error) }
    }
    return try result.get()
}
