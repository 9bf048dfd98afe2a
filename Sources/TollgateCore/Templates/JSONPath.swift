/// A compiled path in the JSONPath subset templates use: `$.a.b`, `a.b[0].c`, `['odd key']`,
/// `[*]` (every element of an array) and negative indices (`[-1]` is the last element).
/// Parsed once when a template loads; reading and writing then walk the segments directly.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public enum Segment: Sendable, Equatable {
        case key(String)
        case index(Int)
        case wildcard
    }

    public let segments: [Segment]
    /// The path as written in the template, for messages.
    public let text: String
    public var description: String { text }
    public var wildcardCount: Int { segments.count { $0 == .wildcard } }

    public init(_ text: String) throws(JSONPathError) {
        self.text = text
        segments = try Self.parse(text)
    }

    init(segments: [Segment]) {
        self.segments = segments
        text = Self.format(segments)
    }

    /// `$` followed by the segments in canonical form (for messages about a concrete place).
    static func format<S: Collection<Segment>>(_ segments: S) -> String {
        var out = "$"
        for segment in segments {
            switch segment {
            case .key(let key) where key.allSatisfy(isNameCharacter) && !key.isEmpty: out += "." + key
            // Backslashes too: the parser reads a backslash as escaping the next character (found by fuzzing).
            case .key(let key):
                out += "['" + key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "']"
            case .index(let index): out += "[\(index)]"
            case .wildcard: out += "[*]"
            }
        }
        return out
    }

    static func isNameCharacter(_ c: Character) -> Bool {
        c.isLetter || c.isNumber || c == "_" || c == "-"
    }

    // MARK: Parsing

    private static func parse(_ text: String) throws(JSONPathError) -> [Segment] {
        let chars = Array(text)
        var i = 0
        var segments: [Segment] = []
        func fail(_ message: String) -> JSONPathError { JSONPathError(path: text, offset: i, message: message) }
        if chars.first == "$" { i = 1 }
        // A path may start with a bare name (`a.b`) instead of `$.`.
        if i == 0, let first = chars.first, first != ".", first != "[" {
            segments.append(.key(try readName(chars, &i, text)))
        }
        while i < chars.count {
            switch chars[i] {
            case ".":
                i += 1
                guard i < chars.count, chars[i] != ".", chars[i] != "[" else {
                    throw fail(i < chars.count && chars[i] == "." ? "'..' (recursive descent) is not supported" : "expected a name after '.'")
                }
                if chars[i] == "*" { throw fail("'.*' is not supported; use [*] on an array") }
                segments.append(.key(try readName(chars, &i, text)))
            case "[":
                i += 1
                segments.append(try readBracket(chars, &i, text))
            default:
                throw fail("expected '.' or '[' but found '\(chars[i])'")
            }
        }
        guard !segments.isEmpty else { throw JSONPathError(path: text, offset: 0, message: "names no field (a path needs at least one segment after '$')") }
        return segments
    }

    private static func readName(_ chars: [Character], _ i: inout Int, _ text: String) throws(JSONPathError) -> String {
        let start = i
        while i < chars.count, isNameCharacter(chars[i]) { i += 1 }
        guard i > start else {
            throw JSONPathError(path: text, offset: i, message: "expected a name but found '\(i < chars.count ? String(chars[i]) : "end")'")
        }
        return String(chars[start..<i])
    }

    /// After `[`: `*]`, an integer and `]`, or a quoted key and `]`.
    private static func readBracket(_ chars: [Character], _ i: inout Int, _ text: String) throws(JSONPathError) -> Segment {
        func fail(_ message: String) -> JSONPathError { JSONPathError(path: text, offset: i, message: message) }
        guard i < chars.count else { throw fail("unclosed '['") }
        let segment: Segment
        switch chars[i] {
        case "*":
            i += 1
            segment = .wildcard
        case "'", "\"":
            let quote = chars[i]
            i += 1
            var key = ""
            while i < chars.count, chars[i] != quote {
                if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                key.append(chars[i])
                i += 1
            }
            guard i < chars.count else { throw fail("unclosed quoted name") }
            i += 1
            segment = .key(key)
        default:
            let start = i
            if chars[i] == "-" { i += 1 }
            while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
            guard let index = Int(String(chars[start..<i])) else {
                i = start
                throw fail("expected an index, '*' or a quoted name inside '[]'")
            }
            segment = .index(index)
        }
        guard i < chars.count, chars[i] == "]" else { throw fail("expected ']'") }
        i += 1
        return segment
    }
}

/// A path that could not be compiled: where in its text and why.
public struct JSONPathError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// Character offset in `path` where reading stopped.
    public var offset: Int
    public var message: String
    public var description: String { "bad path '\(path)' at character \(offset + 1): \(message)" }
}
