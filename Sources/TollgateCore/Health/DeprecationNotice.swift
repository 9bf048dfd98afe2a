/// Recognises an upstream telling that the channel's own model or API version is gone, and the
/// successor it names. Only signals a client cannot write count: the provider's structured code
/// for a retired model or version (an upstream may echo any client text in its message, as OpenAI
/// does with unknown argument names), and a message that names the channel's own upstream model
/// (or API version). The wording ("deprecated", "has been retired", ...) and the successor ("use
/// 'X' instead", "use version 'X'") are read from the message only once those hold.
struct DeprecationNotice: Sendable, Equatable {
    enum Replacement: Sendable, Equatable {
        case model(String)
        case apiVersion(String)
    }

    var message: String
    var replacement: Replacement?

    static let markers = ["deprecated", "no longer available", "has been retired", "been decommissioned",
                          "is retired", "no longer supported", "end of life", "end of its life", "has been removed"]

    /// Structured codes (OpenAI `code`) and types (Anthropic `error.type`, Google `error.status`)
    /// an upstream uses for a model that is not there (any more).
    static let retiredModelCodes: Set<String> = ["model_not_found", "deprecated", "model_deprecated", "DeploymentNotFound"]
    static let retiredModelTypes: Set<String> = ["not_found_error", "NOT_FOUND"]
    /// Bedrock's end-of-life answer is a fixed sentence (the model is in the URL, not the text).
    static let bedrockEndOfLife = "this model version has reached the end of its life"
    /// Azure OpenAI's code for a retired `api-version`.
    static let retiredVersionCodes: Set<String> = ["DeprecatedApiVersion", "ApiVersionDeprecated"]

    /// A retirement of `model` (the channel's upstream name) or of `apiVersion` (the one the
    /// channel sends), from an error answer; nil for anything a client could have written.
    static func detect(_ error: UpstreamErrorInfo, status: Int, model: String, apiVersion: String?) -> DeprecationNotice? {
        guard [400, 404, 410].contains(status) else { return nil }
        if let code = error.code ?? error.type, retiredVersionCodes.contains(code) {
            guard let apiVersion, names(apiVersion, in: error.message), let notice = read(error.message),
                  case .apiVersion? = notice.replacement else { return nil }
            return notice
        }
        let structured = error.code.map(retiredModelCodes.contains) == true || error.type.map(retiredModelTypes.contains) == true
        let bedrock = error.type == "ValidationException" && error.message.lowercased().hasPrefix(bedrockEndOfLife)
        guard structured && names(model, in: error.message) || bedrock, var notice = read(error.message) else { return nil }
        if case .apiVersion? = notice.replacement { notice.replacement = nil }  // a model's notice cannot move the version
        if notice.replacement == .model(model) { notice.replacement = nil }
        return notice
    }

    /// True when `name` appears in `text` as a whole name (not inside a longer one).
    static func names(_ name: String, in text: String) -> Bool {
        guard !name.isEmpty else { return false }
        let partOfName: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        var from = text.startIndex
        while let range = text.range(of: name, range: from..<text.endIndex) {
            let before = range.lowerBound == text.startIndex ? nil : text[text.index(before: range.lowerBound)]
            let after = range.upperBound == text.endIndex ? nil : text[range.upperBound]
            if !(before.map(partOfName) ?? false) && !(after.map(partOfName) ?? false) { return true }
            from = text.index(after: range.lowerBound)
        }
        return false
    }

    /// The wording of a retirement and the successor it names, from a message already known to
    /// be the provider's own.
    static func read(_ message: String) -> DeprecationNotice? {
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
