import FuzzSupport
@testable import TollgateCore

/// The template mapping engine: input is `path\npath\nJSON`. Both paths are compiled; on the
/// document each is read, matched, set and removed, and the mapping ops copy/rename/set/delete
/// are applied between them.
func fuzzJSONPath(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let (selector, bytes) = FuzzInput(start, count).head
    let (texts, rest) = lines(bytes, count: 2)
    let paths = texts.compactMap { try? JSONPath($0) }
    for path in paths {
        // A compiled path prints in a form that compiles to the same segments.
        if let again = try? JSONPath(JSONPath.format(path.segments)) {
            invariant(again.segments == path.segments, "format/parse round trip of \(path)")
        } else {
            invariant(false, "formatted path does not compile: \(path)")
        }
    }
    guard let document = try? JSONParser.parse(rest) else { return 0 }
    for path in paths {
        _ = try? path.value(in: document)
        _ = path.matches(in: document)
        var copy = document
        try? path.set(.string("x"), in: &copy)
        path.remove(from: &copy)
    }
    if paths.count == 2 {
        var ops: [MappingOp] = []
        switch selector % 4 {
        case 0: ops = [.copy(from: paths[0], to: paths[1])]
        case 1: ops = [.rename(from: paths[0], to: paths[1])]
        case 2: ops = [.set(paths[0], document), .delete(paths[1])]
        default: ops = [.rename(from: paths[1], to: paths[0]), .copy(from: paths[0], to: paths[1])]
        }
        var edited = document
        for op in ops { try? op.apply(to: &edited) }
        _ = edited.serialized()
    }
    return 0
}

runFuzzer(fuzzJSONPath)
