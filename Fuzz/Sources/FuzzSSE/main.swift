import FuzzSupport
import TollgateCore

/// The SSE parser fed the same bytes whole and in random splits must report the same events
/// (and fail, when an event outgrows the limit, the same way), and keep the same raw bytes in
/// the same order. Which event holds a raw byte may differ: an LF whose CR ended a chunk and an
/// event is led into the next one (`SSEEvent.leadingLineEnd`).
struct Outcome: Equatable {
    /// Name, data and data-ness of each reported event.
    var events: [String] = []
    var raw: [UInt8] = []
    var tooLarge = false
    var last: String?
}

func describe(_ event: SSEEvent) -> String { "\(event.name)|\(event.data)|\(event.hasData)" }

func run(_ bytes: [UInt8], chunks: [Range<Int>], options: UInt8) -> Outcome {
    var parser = SSEParser(maxEventBytes: 512, keepRaw: options & 1 != 0, reportsEmptyEvents: options & 2 != 0)
    var outcome = Outcome()
    do {
        for range in chunks {
            try bytes[range].withUnsafeBytes { chunk in
                try parser.feed(chunk) { event in
                    outcome.events.append(describe(event))
                    outcome.raw += event.raw
                }
            }
        }
        if let last = parser.finish() {
            outcome.raw += last.raw
            // Only a split leaves a pending event of nothing but a led line end.
            let leadOnly = last.isEmpty && !last.hasData && last.raw.count == last.leadingLineEnd
            outcome.last = leadOnly ? nil : describe(last)
        }
    } catch is SSEParser.TooLarge {
        outcome.tooLarge = true
        outcome.raw = []
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
    if selector & 3 == 3 && !whole.tooLarge {
        // Kept raw bytes of the reported events, and what finish() returned, are the input.
        invariant(whole.raw == bytes, "raw bytes do not add up to the input")
    }
    return 0
}

runFuzzer(fuzzSSE)
