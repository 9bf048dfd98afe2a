import Foundation
import FuzzSupport
@testable import TollgateCore

/// Template loading and the mapping engine behind it. Selector bit 0 clear: the input is a
/// template file, loaded and (when valid) run on a fixed request, answer and stream. Set: the
/// input is an upstream answer or stream, run through the shipped Cohere-style template.
let request = Array(#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0.5,"stream":true,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}"#.utf8)
let answer = Array(#"{"id":"a","message":{"role":"assistant","content":[{"type":"text","text":"hello"}]},"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":3,"output_tokens":2}},"choices":[{"message":{"content":"x"}}]}"#.utf8)
let stream = Array("event: message-start\ndata: {\"id\":\"a\"}\n\nevent: content-delta\ndata: {\"delta\":{\"message\":{\"content\":{\"text\":\"hi\"}}}}\n\nevent: message-end\ndata: {\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"tokens\":{\"input_tokens\":1,\"output_tokens\":1}}}}\n\ndata: [DONE]\n\n".utf8)
/// The shipped Cohere template (the one whose answers and streams are mapped), read from the
/// working directory (`scripts/fuzz` runs from the repository root).
let shipped: AdaptorTemplate? = {
    guard let data = FileManager.default.contents(atPath: "adaptor-templates/cohere.json") else {
        fatalError("run from the repository root: adaptor-templates/cohere.json not found")
    }
    do { return try AdaptorTemplate.parse(Array(data), source: "cohere.json") } catch { fatalError("\(error)") }
}()

func exercise(_ template: AdaptorTemplate, answer: [UInt8], stream: [UInt8], split: UInt8) {
    if var document = try? JSONParser.parse(request) {
        for op in template.request { try? op.apply(to: &document) }
        _ = document.serialized()
    }
    var config = ChannelConfig(name: "c", provider: template.provider, models: ["m"])
    config.credentials = ["api_key": "k"]
    config.options = ["deployment": "d", "resource": "r"]
    guard let channel = try? TemplateAdaptor(template: template, apiVersion: "v1").makeChannel(config) else { return }
    _ = channel.path(.chat, model: "m/ü?")
    _ = try? channel.convertAnswer(status: 200, body: answer, model: "m")
    _ = try? channel.convertAnswer(status: 429, body: answer, model: "m")
    if let converter = channel.makeStream(model: "m", includeUsage: split & 1 != 0) {
        for range in splits(count: stream.count, seed: split) { _ = stream[range].withUnsafeBytes { converter.feed($0) } }
        _ = converter.finish()
    }
}

func fuzzTemplate(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    if selector & 1 == 0 {
        if let template = try? AdaptorTemplate.parse(bytes, source: "fuzz.json") {
            exercise(template, answer: answer, stream: stream, split: selector >> 1)
        }
    } else if let shipped {
        exercise(shipped, answer: bytes, stream: bytes, split: selector >> 1)
    }
    return 0
}

runFuzzer(fuzzTemplate)
