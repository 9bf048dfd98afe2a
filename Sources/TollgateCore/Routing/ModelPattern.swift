/// A model name or a pattern with `*` wildcards (`gpt-*`, `*-mini`, `*`).
public struct ModelPattern: Sendable, Hashable {
    public let text: String
    private let parts: [Substring]

    public init(_ text: String) {
        self.text = text
        parts = text.split(separator: "*", omittingEmptySubsequences: false)
    }

    public var isWildcard: Bool { parts.count > 1 }

    public func matches(_ name: String) -> Bool {
        guard isWildcard else { return name == text }
        var rest = Substring(name)
        guard let first = parts.first, rest.hasPrefix(first) else { return false }
        rest = rest.dropFirst(first.count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard !part.isEmpty else { continue }
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}
