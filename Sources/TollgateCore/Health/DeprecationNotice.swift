/// Recognises an upstream telling that a model or API version is gone ("deprecated", "no longer
/// available", "has been retired", "decommissioned") and, when it names one, the replacement
/// ("use 'X' instead", "use version 'X'", "please use X").
struct DeprecationNotice: Sendable, Equatable {
    enum Replacement: Sendable, Equatable {
        case model(String)
        case apiVersion(String)
    }

    var message: String
    var replacement: Replacement?

    static let markers = ["deprecated", "no longer available", "has been retired", "been decommissioned",
                          "is retired", "no longer supported", "end of life", "has been removed"]

    static func detect(_ message: String) -> DeprecationNotice? {
        let lower = message.lowercased()
        guard markers.contains(where: lower.contains) else { return nil }
        return DeprecationNotice(message: message, replacement: replacement(in: message))
    }

    /// The name after "use version", "use api-version", "use model", "use", "migrate to",
    /// "switch to"; quoted or bare.
    static func replacement(in message: String) -> Replacement? {
        let lower = message.lowercased()
        let phrases: [(String, Bool)] = [("use api version ", true), ("use api-version ", true), ("use version ", true),
                                         ("use the model ", false), ("use model ", false), ("migrate to ", false),
                                         ("switch to ", false), ("upgrade to ", false), ("use ", false)]
        for (phrase, isVersion) in phrases {
            guard let range = wordRange(of: phrase, in: lower) else { continue }
            let offset = lower.distance(from: lower.startIndex, to: range.upperBound)
            let rest = message.dropFirst(offset)
            guard let name = token(rest), !name.isEmpty else { continue }
            if ["a", "an", "the", "another", "newer", "instead", "version", "api", "model"].contains(name.lowercased()) { continue }
            let looksLikeVersion = isVersion || name.first?.isNumber == true && name.contains("-") && name.count >= 7
                && name.allSatisfy { $0.isNumber || $0 == "-" || $0.isLetter }
                && name.split(separator: "-").first.map { $0.count == 4 && $0.allSatisfy(\.isNumber) } == true
            return looksLikeVersion ? .apiVersion(name) : .model(name)
        }
        return nil
    }

    /// The first match of `phrase` that starts a word ("use" but not "because").
    private static func wordRange(of phrase: String, in text: String) -> Range<String.Index>? {
        var from = text.startIndex
        while let range = text.range(of: phrase, range: from..<text.endIndex) {
            if range.lowerBound == text.startIndex || !text[text.index(before: range.lowerBound)].isLetter { return range }
            from = text.index(after: range.lowerBound)
        }
        return nil
    }

    /// A quoted name, or a bare one up to whitespace or closing punctuation.
    private static func token(_ text: Substring) -> String? {
        var rest = text.drop { $0 == " " }
        if let quote = rest.first, "'\"`“‘".contains(quote) {
            rest = rest.dropFirst()
            let closing: Set<Character> = ["'", "\"", "`", "”", "’"]
            return String(rest.prefix { !closing.contains($0) })
        }
        let name = rest.prefix { !$0.isWhitespace && !",;()".contains($0) }
        var trimmed = Substring(name)
        while let last = trimmed.last, ".:!".contains(last) { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }
}
