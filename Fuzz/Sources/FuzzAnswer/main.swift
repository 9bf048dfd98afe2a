import FuzzSupport
import NIOCore
@testable import TollgateCore

/// The upstream answer parser: whatever an upstream sends, it must not crash, and the parts it
/// reads (head, body bytes, end, or failure) must not depend on how the bytes were split into
/// reads. The selector picks the request's method (HEAD or POST) and the split.
struct Outcome: Equatable {
    var heads: [String] = []
    var body: [UInt8] = []
    var end: Bool?
    var failed = false
}

func parse(_ bytes: [UInt8], chunks: [Range<Int>], head: Bool) -> Outcome {
    var parser = AnswerParser()
    parser.expect(method: head ? .HEAD : .POST)
    var outcome = Outcome()
    func take(_ part: AnswerParser.Part) {
        switch part {
        case .head(let h): outcome.heads.append("\(h.code) \(h.fields.map { "\($0.0)=\($0.1)" })")
        case .body(let b): outcome.body += b.readableBytesView
        case .end(let reusable): outcome.end = reusable
        }
    }
    do {
        for range in chunks {
            var buffer = ByteBuffer(bytes: bytes[range])
            while outcome.end == nil, let part = try parser.next(&buffer) { take(part) }
            if outcome.end != nil { break }
        }
        if outcome.end == nil, let part = try parser.finish() { take(part) }
    } catch {
        outcome.failed = true
    }
    return outcome
}

func fuzzAnswer(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    let head = selector & 1 != 0
    let whole = parse(bytes, chunks: bytes.isEmpty ? [] : [0..<bytes.count], head: head)
    var split = parse(bytes, chunks: splits(count: bytes.count, seed: selector >> 1), head: head)
    // Bytes behind an answer's end in the same read make it unreusable; split off, they wait
    // for a read that never comes here. Only that may differ.
    if whole.end == false && split.end == true { split.end = false }
    invariant(whole == split, "splits differ: \(whole) vs \(split)")
    invariant(whole.heads.count <= 1, "more than one head")
    return 0
}

runFuzzer(fuzzAnswer)
