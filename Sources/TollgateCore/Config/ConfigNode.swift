import Yams

/// A YAML node with its key path and source position, so every accessor can fail with an error
/// that names the file, line and key.
struct ConfigNode {
    let node: Node
    let path: String
    let file: String
    /// Nil: values are data, taken literally (admin JSON); no `${...}` is looked up.
    let environment: [String: String]?
    /// The `${...}` expressions lifted out of the text before parsing, by placeholder index.
    var references: [Substring] = []

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line, column: node.mark?.column, key: path, message: message)
    }

    func child(_ key: String, _ node: Node) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", file: file, environment: environment,
                   references: references)
    }

    /// Members of a mapping, refusing keys outside `allowed` (nil: any key).
    func mapping(allowed: Set<String>?) throws -> [String: ConfigNode] {
        guard case .mapping(let mapping) = node else { throw error("must be a mapping") }
        var members: [String: ConfigNode] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw error("keys must be strings") }
            let member = child(key, valueNode)
            guard allowed?.contains(key) ?? true else {
                let known = (allowed ?? []).sorted().joined(separator: ", ")
                throw ConfigError(file: file, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                  key: member.path, message: "unknown key (expected one of: \(known))")
            }
            members[key] = member
        }
        return members
    }

    func sequence() throws -> [ConfigNode] {
        guard case .sequence(let items) = node else { throw error("must be a list") }
        return items.enumerated().map { index, item in
            ConfigNode(node: item, path: "\(path)[\(index)]", file: file, environment: environment, references: references)
        }
    }

    /// A scalar with `${NAME}` and `${NAME:-default}` replaced from the environment.
    func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("must be a single value") }
        guard let environment else { return scalar.string }
        return try substitute(scalar.string, environment: environment)
    }

    func int(in range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(try string().trimmingSpaces) else { throw error("must be an integer") }
        guard range.contains(value) else {
            throw error("must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    func bool() throws -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("must be true or false")
        }
    }

    func strings() throws -> [String] {
        if case .scalar = node { return [try string()] }
        return try sequence().map { try $0.string() }
    }

    func stringMap() throws -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error("must be a mapping") }
        var result: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard let key = keyNode.string else { throw error("keys must be strings") }
            result[key] = try child(key, valueNode).string()
        }
        return result
    }

    /// A duration such as `500ms`, `10s`, `5m`, `1h`, `30d`, or a number of seconds.
    func duration() throws -> Duration {
        let text = try string().trimmingSpaces
        guard let parsed = Self.parseDuration(text) else {
            throw error("must be a duration such as 500ms, 30s, 5m or 1h")
        }
        return parsed
    }

    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        // At most a year: `99999999999999h` overflowed (a crash) and NIO's nanosecond clock
        // overflows past 292 years, so larger values are refused like malformed ones.
        let maxMillis: Int64 = 366 * 86_400_000
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)), n >= 0 else { return nil }
            let (total, overflow) = n.multipliedReportingOverflow(by: millis)
            return overflow || total > maxMillis ? nil : .milliseconds(total)
        }
        guard let seconds = Int64(text), seconds >= 0, seconds <= maxMillis / 1000 else { return nil }
        return .seconds(seconds)
    }

    /// Placeholders stand for `${...}` while YAML is parsed: braces would otherwise start a flow
    /// mapping inside `{ key: ${VAR} }`. Placeholders hold no YAML syntax, so lines stay intact.
    static let placeholderPrefix = "__tollgate_env_"

    /// Replaces every `${...}` in `text` with a placeholder; returns the text and the expressions.
    static func liftReferences(_ text: String) -> (String, [Substring]) {
        var references: [Substring] = []
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${"), let close = rest[open.upperBound...].firstIndex(of: "}"),
              !rest[open.upperBound..<close].contains("\n") {
            result += rest[..<open.lowerBound]
            result += "\(placeholderPrefix)\(references.count)__"
            references.append(rest[open.upperBound..<close])
            rest = rest[rest.index(after: close)...]
        }
        return (result + rest, references)
    }

    /// Puts environment values where the placeholders stand (`${NAME}` or `${NAME:-default}`).
    /// A placeholder is `__tollgate_env_<n>__`; text that only resembles one (written in the file
    /// itself) is refused, never read past its end.
    private func substitute(_ text: String, environment: [String: String]) throws -> String {
        if text.contains("${") { throw error("unclosed ${ in value") }
        guard text.contains(Self.placeholderPrefix) else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: Self.placeholderPrefix) {
            result += rest[..<start.lowerBound]
            let digits = rest[start.upperBound...].prefix { $0.isASCII && $0.isNumber }
            let after = rest[digits.endIndex...]
            guard let index = Int(digits), references.indices.contains(index), after.hasPrefix("__") else {
                throw error("malformed value (\(Self.placeholderPrefix) is reserved)")
            }
            result += try resolve(references[index], environment: environment)
            rest = after.dropFirst(2)
        }
        return result + rest
    }

    private func resolve(_ expression: Substring, environment: [String: String]) throws -> String {
        var name = expression
        var fallback: Substring?
        if let dash = expression.range(of: ":-") {
            name = expression[..<dash.lowerBound]
            fallback = expression[dash.upperBound...]
        }
        if let value = environment[String(name)] { return value }
        if let fallback { return String(fallback) }
        throw error("environment variable \(name) is not set (write ${\(name):-default} for a default)")
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
