import FuzzSupport
import TollgateCore

/// The SSE parser fed the same bytes whole and in random splits must report the same events
/// (and fail, when an event outgrows the limit, the same way).
struct Outcome: Equatable {
    var events: [SSEEvent] = []
    var tooLarge = false
    var last: SSEEvent?
}

func run(_ bytes: [UInt8], chunks: [Range<Int>], options: UInt8) -> Outcome {
    var parser = SSEParser(maxEventBytes: 512, keepRaw: options & 1 != 0, reportsEmptyEvents: options & 2 != 0)
    var outcome = Outcome()
    do {
        for range in chunks {
            try bytes[range].withUnsafeBytes { chunk in
                try parser.feed(chunk) { event in outcome.events.append(event) }
            }
        }
        outcome.last = parser.finish()
    } catch is SSEParser.TooLarge {
        outcome.tooLarge = true
    } catch {
        fatalError("unexpected error \(error)")
    }
    return outcome
}

func fuzzSSE(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    let whole = run(bytes, chunks: bytes.isEmpty ? [] : [0..<bytes.count], options: selector)
    let split = run(bytes, chunks: splits(count: bytes.count, seed: selector >> 2), options: selector)
    invariant(whole == split, "whole and split feeds differ")
    if selector & 1 != 0 && !whole.tooLarge {
        // Kept raw bytes of the reported events, and what finish() returned, are the input.
        let raw = whole.events.flatMap(\.raw) + (whole.last?.raw ?? [])
        if selector & 2 != 0 { invariant(raw == bytes, "raw bytes do not add up to the input") }
    }
    return 0
}

runFuzzer(fuzzSSE)
