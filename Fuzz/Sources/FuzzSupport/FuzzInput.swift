import CFuzzDriver
#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the fuzz targets: the input as bytes, and a deterministic way to split it
/// into chunks so incremental parsers are fed the same bytes in many different splits.
public struct FuzzInput {
    public let bytes: [UInt8]

    public init(_ start: UnsafeRawPointer?, _ count: Int) {
        bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    }

    /// The first byte as a selector (0 when empty) and the rest.
    public var head: (selector: UInt8, rest: [UInt8]) {
        guard let first = bytes.first else { return (0, []) }
        return (first, Array(bytes.dropFirst()))
    }
}

/// Chunk sizes for `count` bytes from a seed: 1..(maxChunk) bytes each, deterministic.
public func splits(count: Int, seed: UInt8, maxChunk: Int = 17) -> [Range<Int>] {
    var state = UInt32(seed) &* 2_654_435_761 &+ 1
    var ranges: [Range<Int>] = []
    var offset = 0
    while offset < count {
        state = state &* 1_103_515_245 &+ 12345
        let size = min(count - offset, 1 + Int((state >> 16) % UInt32(maxChunk)))
        ranges.append(offset..<(offset + size))
        offset += size
    }
    return ranges
}

/// Stops the process with a message libFuzzer records as a crash (a broken invariant).
public func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("invariant broken: \(message())") }
}

/// Splits `bytes` at the first `count` newlines: the leading lines and the remainder.
public func lines(_ bytes: [UInt8], count: Int) -> (lines: [String], rest: [UInt8]) {
    var out: [String] = []
    var rest = bytes[...]
    for _ in 0..<count {
        guard let newline = rest.firstIndex(of: 0x0A) else { break }
        out.append(String(decoding: rest[rest.startIndex..<newline], as: UTF8.self))
        rest = rest[(newline + 1)...]
    }
    return (out, Array(rest))
}

/// The fuzz target's body, called by libFuzzer for every input.
nonisolated(unsafe) private var target: ((UnsafeRawPointer?, Int) -> CInt)?

/// Hands the process to libFuzzer (its command-line flags and corpus directories) with `body`
/// as the target; exits with libFuzzer's status.
public func runFuzzer(_ body: @escaping (UnsafeRawPointer?, Int) -> CInt) -> Never {
    target = body
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in target?(UnsafeRawPointer(data), size) ?? 0 }
    exit(status)
}

/// libFuzzer's archive also carries its own main(), which needs this symbol to link; ours runs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target?(UnsafeRawPointer(data), size) ?? 0
}
