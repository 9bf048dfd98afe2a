import FuzzSupport
@testable import AnthropicWire
import TollgatePluginKit

/// A complete Anthropic answer converted for an OpenAI client (read in one pass, no tree of the
/// whole answer): it converts exactly when the bytes are one JSON document whose first `content`
/// is an array, writes valid JSON when it does, and reports the usage a tree of the same bytes
/// holds.
func fuzzClaudeAnswer(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = FuzzInput(start, count).bytes
    let response = PluginResponse(operation: .chat, status: 200, headers: [], body: bytes, model: "m", requestBody: [], dialect: .openAI)
    let converted = try? AnthropicWire.convertResponse(response, created: 0)
    let tree = try? JSONParser.parse(bytes)
    let hasContent: Bool = if case .object = tree, tree?["content"]?.arrayValue != nil { true } else { false }
    invariant((converted != nil) == hasContent, "converted: \(converted != nil), a content array: \(hasContent)")
    guard let converted, let tree else { return 0 }
    invariant((try? JSONParser.parse(converted.body)) != nil, "the OpenAI answer is not JSON")
    var usage = AnthropicUsage()
    usage.read(tree["usage"])
    invariant(converted.usage == usage.tokenUsage, "usage \(converted.usage), the tree's \(usage.tokenUsage)")
    return 0
}

runFuzzer(fuzzClaudeAnswer)
