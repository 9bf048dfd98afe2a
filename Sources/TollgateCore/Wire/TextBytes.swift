import NIOHTTP1

/// Text compared and searched as the bytes it is held in: headers, paths and URLs are ASCII where
/// it matters, and the String methods that compare Characters, or walk a UTF-8 view by index,
/// cost hundreds of instructions a call on the request path. Each works on the text's contiguous
/// bytes (`withUTF8` makes them so, without a copy for a native string).
extension String {
    /// Header-name comparison without allocating a lower-cased copy (`other` is lower case).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        utf8.count == other.utf8.count && hasPrefixIgnoringASCIICase(other)
    }

    /// Whether the name starts with `prefix` (lower case), ignoring ASCII case, without a copy.
    func hasPrefixIgnoringASCIICase(_ prefix: String) -> Bool {
        var name = self, prefix = prefix
        return name.withUTF8 { name in prefix.withUTF8 { UnsafeRawBufferPointer(name).hasPrefixIgnoringASCIICase(UnsafeRawBufferPointer($0)) } }
    }

    /// This URI without its query.
    var uriPath: Substring {
        guard let query = queryMark else { return self[...] }
        return self[..<query]
    }

    /// Where a URI's `?` is (every request asks twice).
    var queryMark: String.Index? {
        var text = self
        let offset = text.withUTF8 { $0.firstIndex(of: UInt8(ascii: "?")) }
        return offset.map { utf8.index(utf8.startIndex, offsetBy: $0) }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes begin with `prefix` (lower case), ignoring ASCII case.
    func hasPrefixIgnoringASCIICase(_ prefix: UnsafeRawBufferPointer) -> Bool {
        guard count >= prefix.count else { return false }
        guard let text = baseAddress, let lower = prefix.baseAddress else { return true }  // an empty prefix
        for i in 0..<prefix.count {
            let a = text.load(fromByteOffset: i, as: UInt8.self), b = lower.load(fromByteOffset: i, as: UInt8.self)
            if a != b && !(a >= 0x41 && a <= 0x5A && a | 0x20 == b) { return false }
        }
        return true
    }

    func hasPrefixIgnoringASCIICase(_ prefix: StaticString) -> Bool {
        hasPrefixIgnoringASCIICase(UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
    }

    /// Whether these bytes are `lower`, ignoring ASCII case (a field's name against a known one).
    /// Inlined: most calls end at the length.
    @inline(__always)
    func equalsIgnoringASCIICase(_ lower: StaticString) -> Bool {
        count == lower.utf8CodeUnitCount && hasPrefixIgnoringASCIICase(lower)
    }

    @inline(__always)
    func equalsIgnoringASCIICase(_ lower: UnsafeRawBufferPointer) -> Bool {
        count == lower.count && hasPrefixIgnoringASCIICase(lower)
    }
}

extension Substring {
    /// Whether this text begins with `prefix`, byte for byte (routing asks a few times a request).
    func hasBytePrefix(_ prefix: String) -> Bool {
        var text = self, prefix = prefix
        return text.withUTF8 { text in prefix.withUTF8 { UnsafeRawBufferPointer(text).hasPrefix(UnsafeRawBufferPointer($0)) } }
    }
}

