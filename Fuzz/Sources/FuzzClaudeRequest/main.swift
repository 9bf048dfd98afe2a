import FuzzSupport
@testable import AnthropicWire
import TollgatePluginKit

/// An OpenAI request converted for Anthropic: whenever the one-pass conversion of a plain chat
/// (`PlainChat`) takes the bytes, the tree conversion of the same bytes succeeds and writes the
/// same body, byte for byte; the first byte picks the options.
func fuzzClaudeRequest(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    var bytes = FuzzInput(start, count).bytes
    let flags = bytes.isEmpty ? 0 : bytes.removeFirst()
    let conversion = RequestConversion(maxTokensDefault: flags & 1 == 0 ? nil : 77, platformVersion: flags & 2 == 0 ? nil : AnthropicWire.vertexVersion)
    let stream = flags & 4 != 0
    guard let plain = bytes.withUnsafeBytes({ PlainChat.anthropicBody($0, model: "claude-sonnet-4-5", conversion: conversion, stream: stream) }) else {
        return 0
    }
    let tree = try? conversion.anthropicBody(from: JSONParser.parse(bytes), model: "claude-sonnet-4-5", stream: stream).serialized()
    invariant(tree != nil, "the plain pass converted what the tree refuses")
    invariant(plain == tree, "plain \(String(decoding: plain, as: UTF8.self)), tree \(String(decoding: tree ?? [], as: UTF8.self))")
    return 0
}

runFuzzer(fuzzClaudeRequest)
