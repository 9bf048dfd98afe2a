import BedrockPlugin
import FuzzSupport

/// The AWS event-stream decoder fed whole and in random splits must agree; every decoded message
/// re-encodes to a frame that decodes to the same message.
struct Outcome: Equatable {
    var messages: [EventStreamMessage] = []
    var failed = false
    var truncated = false
}

func run(_ bytes: [UInt8], chunks: [Range<Int>]) -> Outcome {
    var decoder = EventStreamDecoder(maxMessageLength: 4096)
    var outcome = Outcome()
    do {
        for range in chunks {
            try decoder.append(bytes[range])
            while let message = try decoder.next() { outcome.messages.append(message) }
        }
    } catch {
        outcome.failed = true
        return outcome
    }
    do { try decoder.finish() } catch { outcome.truncated = true }
    return outcome
}

func fuzzEventStream(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    let whole = run(bytes, chunks: bytes.isEmpty ? [] : [0..<bytes.count])
    let split = run(bytes, chunks: splits(count: bytes.count, seed: selector, maxChunk: 40))
    invariant(whole == split, "whole and split feeds differ")
    for message in whole.messages {
        guard let frame = try? EventStreamEncoder.encode(message) else { continue }
        var decoder = EventStreamDecoder(maxMessageLength: 1 << 20)
        let again = try? decoder.feed(frame)
        invariant(again == [message], "a decoded message does not survive re-encoding")
    }
    return 0
}

runFuzzer(fuzzEventStream)
