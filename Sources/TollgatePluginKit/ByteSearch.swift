/// Searching bytes for bytes: `String.contains(String)` compares Characters (grapheme by
/// grapheme), many times slower on request paths where both sides are ASCII names.
public enum ByteSearch {
    /// Where `needle` first occurs in `haystack`; nil when it does not (or is empty).
    public static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }
}
