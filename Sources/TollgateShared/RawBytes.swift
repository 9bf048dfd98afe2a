#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bytes compared where they lie, by length and `memcmp`: member names, routes and URLs against
/// the names the code knows. `elementsEqual` or `starts(with:)` against a UTF8View walks it by
/// index, about ten times the instructions, on every request.
extension UnsafeRawBufferPointer {
    /// Whether these bytes are exactly `name`'s.
    public func equals(_ name: StaticString) -> Bool {
        equals(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
    }

    /// The same against a name held as bytes.
    public func equals(_ name: [UInt8]) -> Bool { name.withUnsafeBytes { equals($0) } }

    public func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        count == other.count && hasPrefix(other)
    }

    /// Whether these bytes begin with `prefix`'s.
    public func hasPrefix(_ prefix: StaticString) -> Bool {
        hasPrefix(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
    }

    public func hasPrefix(_ prefix: UnsafeRawBufferPointer) -> Bool {
        count >= prefix.count && (prefix.isEmpty || memcmp(baseAddress!, prefix.baseAddress!, prefix.count) == 0)
    }
}
