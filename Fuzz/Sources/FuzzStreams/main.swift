import FuzzSupport
@testable import TollgateCore

/// What the gateway does to an OpenAI stream on its way to a client: the usage meter (and its
/// strip mode) and the Anthropic and Gemini translators. Output must not depend on how the
/// upstream's bytes were split into reads.
struct Outcome: Equatable {
    var out: [UInt8] = []
    var failed = false
    var usage = TokenUsage()
}

func meter(_ bytes: [UInt8], chunks: [Range<Int>], strip: Bool) -> Outcome {
    var meter = OpenAIStreamMeter(stripUsageChunk: strip)
    var outcome = Outcome()
    do {
        for range in chunks {
            let forward = try bytes[range].withUnsafeBytes { try meter.read($0) }
            outcome.out += forward ?? Array(bytes[range])
        }
    } catch {
        outcome.failed = true
    }
    outcome.usage = meter.usage
    return outcome
}

func translate(_ bytes: [UInt8], chunks: [Range<Int>], selector: UInt8) -> Outcome {
    let translator: any ResponseTranslator = switch selector % 3 {
    case 0: AnthropicTranslator(model: "m")
    case 1: GeminiTranslator(model: "m", sse: true)
    default: GeminiTranslator(model: "m", sse: false)
    }
    var outcome = Outcome()
    for range in chunks { outcome.out += bytes[range].withUnsafeBytes { translator.streamChunk($0) } }
    outcome.out += translator.streamEnd()
    _ = translator.complete(status: selector & 8 != 0 ? 200 : 400, body: bytes)
    return outcome
}

func fuzzStreams(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    let whole = bytes.isEmpty ? [] : [0..<bytes.count]
    let split = splits(count: bytes.count, seed: selector >> 4)
    let strip = selector & 1 != 0
    invariant(meter(bytes, chunks: whole, strip: strip) == meter(bytes, chunks: split, strip: strip), "meter: splits differ")
    invariant(translate(bytes, chunks: whole, selector: selector >> 1) == translate(bytes, chunks: split, selector: selector >> 1),
              "translator: splits differ")
    return 0
}

runFuzzer(fuzzStreams)
