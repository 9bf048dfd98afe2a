/// Reads a retirement notice ("deprecated", "has been retired", and the successor it names) from
/// an error message. Only for a message already known to be the provider's own: a structured
/// retired-model code, naming the channel's own model (an upstream may echo any client text).
/// Shared by the core (OpenAI and Azure shapes) and the plugins (their providers' shapes).
public enum RetirementText {
    public enum Replacement: Sendable, Equatable {
        case model(String)
        case apiVersion(String)
    }

    static let markers = ["deprecated", "no longer available", "has been retired", "been decommissioned",
                          "is retired", "no longer supported", "end of life", "end of its life", "has been removed"]

    /// True when `text` words a retirement.
    public static func announcesRetirement(_ text: String) -> Bool {
        let lower = text.lowercased()
        return markers.contains(where: lower.contains)
    }

    /// True when `name` appears in `text` as a whole name (not inside a longer one).
    public static func names(_ name: String, in text: String) -> Bool {
        guard !name.isEmpty else { return false }
        let partOfName: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        var from = text.startIndex
        while let range = text[from...].firstRange(of: name) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            if !(before.map(partOfName) ?? false) && !(after.map(partOfName) ?? false) { return true }
            from = text.index(after: range.lowerBound)
        }
        return false
    }

    /// The name after "use version", "use api-version", "use model", "use", "migrate to",
    /// "switch to"; quoted or bare.
    public static func replacement(in message: String) -> Replacement? {
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

    /// The model successor a provider's own message names for `model`, if any.
    public static func successorModel(in message: String, retiring model: String) -> String? {
        guard case .model(let name)? = replacement(in: message), name != model else { return nil }
        return name
    }

    /// The first match of `phrase` that starts a word ("use" but not "because").
    private static func wordRange(of phrase: String, in text: String) -> Range<String.Index>? {
        var from = text.startIndex
        while let range = text[from...].firstRange(of: phrase) {
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
