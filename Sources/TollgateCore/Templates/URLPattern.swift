/// A URL or path with `{name}` placeholders, split once into literal text and names so a
/// request only concatenates.
public struct URLPattern: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(String)
    }

    public let parts: [Part]
    public var placeholders: [String] { parts.compactMap { if case .placeholder(let name) = $0 { name } else { nil } } }

    /// Fails with a message on an unclosed `{` or an empty or malformed name.
    public init(_ text: String) throws(TemplateFieldProblem) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { throw TemplateFieldProblem("unclosed '{' in '\(text)'") }
            let name = String(rest[rest.index(after: open)..<close])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw TemplateFieldProblem("'{\(name)}' is not a placeholder name (letters, digits and _)")
            }
            if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
            parts.append(.placeholder(name))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    init(parts: [Part]) { self.parts = parts }

    /// Replaces the placeholders `values` has (values are inserted as they are); others stay.
    public func filling(_ values: [String: String]) -> URLPattern {
        var out: [Part] = []
        for part in parts {
            var next = part
            if case .placeholder(let name) = part, let value = values[name] { next = .text(value) }
            if case .text(let text) = next, case .text(let previous)? = out.last {
                out[out.count - 1] = .text(previous + text)
            } else {
                out.append(next)
            }
        }
        return URLPattern(parts: out)
    }

    /// The text with each remaining placeholder taken from `value(name)`.
    public func render(_ value: (String) -> String) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let text): out += text
            case .placeholder(let name): out += value(name)
            }
        }
        return out
    }

    /// Percent-encodes a value for a path segment or query value (RFC 3986 unreserved kept).
    public static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

/// A problem with one field's value, before the field's name is attached.
public struct TemplateFieldProblem: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
