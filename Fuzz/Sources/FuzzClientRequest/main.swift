import FuzzSupport
import NIOCore
@testable import TollgateCore

/// The client request parser: whatever a client sends, it must not crash, and the requests it
/// reads (heads, bodies, ends, or a failure) must not depend on how the bytes were split into
/// reads. The selector picks the split.
struct Outcome: Equatable {
    var requests: [String] = []
    var body: [UInt8] = []
    var failed = false
}

func parse(_ bytes: [UInt8], chunks: [Range<Int>]) -> Outcome {
    var parser = RequestParser()
    var outcome = Outcome()
    do {
        for range in chunks {
            var buffer = ByteBuffer(bytes: bytes[range])
            while let part = try parser.next(&buffer) {
                switch part {
                case .head(let h, let b): outcome.requests.append("\(h.method) \(h.uri) 1.\(h.minor) \(h.isKeepAlive) \(h.fields.map { "\($0.0)=\($0.1)" }) \(b)")
                case .body(let b): outcome.body += b.readableBytesView
                case .end: outcome.requests.append("end \(outcome.body.count)")
                }
            }
            invariant(buffer.readableBytes == 0, "a read was left unread")
        }
    } catch {
        outcome.failed = true  // an HTTPWireFailure (typed)
    }
    return outcome
}

func fuzzClientRequest(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    let whole = parse(bytes, chunks: bytes.isEmpty ? [] : [0..<bytes.count])
    let split = parse(bytes, chunks: splits(count: bytes.count, seed: selector))
    invariant(whole == split, "splits differ: \(whole) vs \(split)")
    return 0
}

runFuzzer(fuzzClientRequest)
