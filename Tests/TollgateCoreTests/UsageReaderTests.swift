import Testing
import TestSupport
@testable import TollgateShared

/// A passthrough answer's usage is read off its bytes without a JSON tree; it must give exactly
/// what the tree's `TokenUsage(openAI:)` gives, for every answer, honest or not.
@Suite struct UsageReaderTests {
    /// The tree's reading of a whole answer: the first `usage` and `service_tier` members.
    static func byTree(_ body: [UInt8]) -> (TokenUsage?, JSONValue?) {
        let found = body.withUnsafeBytes { RequestScan.members(RequestScan.MemberNames("usage", "service_tier"), in: $0) }
        return (found[0].flatMap(TokenUsage.init(openAI:)), found[1])
    }

    static func byReader(_ body: [UInt8]) -> (TokenUsage?, JSONValue?) {
        let found = body.withUnsafeBytes { RequestScan.openAIAnswer($0) }
        return (found.usage, found.serviceTier)
    }

    @Test(arguments: [
        // Chat, Responses and LiteLLM spellings, with details.
        #"{"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31},"service_tier":"priority"}"#,
        #"{"usage":{"input_tokens":5,"output_tokens":9,"input_tokens_details":{"cached_tokens":2},"output_tokens_details":{"reasoning_tokens":4}}}"#,
        #"{"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":1,"cache_creation_tokens":2},"completion_tokens_details":{"reasoning_tokens":5,"audio_tokens":6},"completion_tokens":11}}"#,
        #"{"usage":{"prompt_tokens":9,"cache_creation_input_tokens":4}}"#,
        // The first of a repeated name counts, even when it is not a count.
        #"{"usage":{"prompt_tokens":"9","prompt_tokens":10,"input_tokens":3}}"#,
        #"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
        // A present details member that is not an object hides the other spelling.
        #"{"usage":{"prompt_tokens":1,"prompt_tokens_details":null,"input_tokens_details":{"cached_tokens":7}}}"#,
        #"{"usage":{"prompt_tokens":1,"input_tokens_details":{"cached_tokens":7}}}"#,
        #"{"usage":{"completion_tokens":1,"completion_tokens_details":[1],"output_tokens_details":{"reasoning_tokens":7}}}"#,
        // Numbers that are no count: fractions, exponents, past Int64; negatives and -0 are.
        #"{"usage":{"prompt_tokens":1.0,"completion_tokens":1e3}}"#,
        #"{"usage":{"prompt_tokens":9223372036854775808,"completion_tokens":-9223372036854775808}}"#,
        #"{"usage":{"prompt_tokens":-0,"completion_tokens":-5}}"#,
        // Keys with escapes are the same keys inside usage; not at the top level (as before).
        #"{"usage":{"prompt\u005ftokens":3,"completion_tokens":1}}"#,
        #"{"us\u0061ge":{"prompt_tokens":3}}"#,
        // Not usage: no object, no counts, nested decoys, empty.
        #"{"usage":null}"#, #"{"usage":[{"prompt_tokens":1}]}"#, #"{"usage":{}}"#, #"{"usage":{"total_tokens":3}}"#,
        #"{"usage":{"x":{"prompt_tokens":3},"completion_tokens":2}}"#, #"[]"#, #""#, #"{}"#,
        // Malformed inside or after usage.
        #"{"usage":{"prompt_tokens":3,}}"#, #"{"usage":{"prompt_tokens":03}}"#, #"{"usage":{"prompt_tokens":3}"#,
        #"{"usage":{"prompt_tokens":3},"service_tier":}"#, #"{"service_tier":"default","usage":{"prompt_tokens":"\u12"}}"#,
    ])
    func readsWhatTheTreeReads(body: String) {
        let bytes = Array(body.utf8)
        #expect(Self.byReader(bytes) == Self.byTree(bytes))
    }

    @Test func aUsageNestedPastTheDepthLimitIsRefusedByBoth() {
        let deep = #"{"usage":{"prompt_tokens":1,"x":"# + String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth) + "}}"
        #expect(Self.byTree(Array(deep.utf8)).0 == nil)
        #expect(Self.byReader(Array(deep.utf8)) == Self.byTree(Array(deep.utf8)))
    }

    /// Thousands of generated answers (a fixed seed: the same every run), each also cut short
    /// and with a byte flipped.
    @Test func generatedAnswersReadAlike() {
        var random = SplitMix(seed: 0x7011_6a7e)
        var checked = 0
        for _ in 0..<4000 {
            let body = Array(Self.answer(&random).utf8)
            var variants = [body, Array(body.prefix(Int.random(in: 0...body.count, using: &random)))]
            var flipped = body
            if !flipped.isEmpty { flipped[Int.random(in: 0..<flipped.count, using: &random)] = Self.noise.randomElement(using: &random)! }
            variants.append(flipped)
            for variant in variants {
                let (reader, tree) = (Self.byReader(variant), Self.byTree(variant))
                #expect(reader == tree, "\(String(decoding: variant, as: UTF8.self))")
                checked += 1
            }
        }
        #expect(checked == 12_000)
    }

    static let noise: [UInt8] = Array(#"{}[],:"0-9e.\ nx"#.utf8)
    static let names = ["prompt_tokens", "input_tokens", "completion_tokens", "output_tokens", "cache_creation_input_tokens",
                        "prompt_tokens_details", "input_tokens_details", "completion_tokens_details", "output_tokens_details",
                        "cached_tokens", "cache_creation_tokens", "audio_tokens", "reasoning_tokens", "total_tokens", "prompt_token",
                        #"prompt\u005ftokens"#, #"cached\u005Ftokens"#]

    static func answer(_ random: inout SplitMix) -> String {
        var members = ["\"id\":\"chatcmpl-1\""]
        for _ in 0..<Int.random(in: 0...2, using: &random) {
            members.append("\"usage\":" + value(&random, depth: 0, objectBias: true))
        }
        if Bool.random(using: &random) { members.append("\"service_tier\":" + value(&random, depth: 2, objectBias: false)) }
        members.shuffle(using: &random)
        return "{" + members.joined(separator: ",") + "}"
    }

    static func value(_ random: inout SplitMix, depth: Int, objectBias: Bool) -> String {
        let choice = objectBias && Int.random(in: 0..<4, using: &random) > 0 ? 9 : Int.random(in: 0..<11, using: &random)
        switch choice {
        case 0: return String(Int64.random(in: -5...100_000, using: &random))
        case 1: return ["1.5", "2e2", "-0", "0", "9223372036854775807", "9223372036854775808", "-9223372036854775809"].randomElement(using: &random)!
        case 2: return ["\"7\"", "\"priority\"", "\"default\"", "\"\""].randomElement(using: &random)!
        case 3: return ["true", "false", "null"].randomElement(using: &random)!
        case 4: return "[" + (0..<Int.random(in: 0...2, using: &random)).map { _ in value(&random, depth: depth + 1, objectBias: false) }.joined(separator: ",") + "]"
        case 5...8: return String(Int.random(in: 0...500, using: &random))
        default:
            guard depth < 4 else { return "{}" }
            let count = Int.random(in: 0...6, using: &random)
            return "{" + (0..<count).map { _ in
                "\"\(names.randomElement(using: &random)!)\":" + value(&random, depth: depth + 1, objectBias: depth == 0)
            }.joined(separator: ",") + "}"
        }
    }
}
