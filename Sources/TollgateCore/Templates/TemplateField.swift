/// A value of a template being read, with its dotted field name for errors.
struct TemplateField {
    let value: JSONValue
    let field: String
    let source: String

    func error(_ message: String) -> TemplateError { TemplateError(source: source, field: field, message: message) }

    func child(_ key: String, _ value: JSONValue) -> TemplateField {
        TemplateField(value: value, field: field.isEmpty ? key : "\(field).\(key)", source: source)
    }

    /// The members of an object, refusing keys outside `allowed`.
    func object(allowed: Set<String>) throws(TemplateError) -> [String: TemplateField] {
        guard case .object(let members) = value else { throw error("must be an object, found \(value.kindName)") }
        var out: [String: TemplateField] = [:]
        for member in members {
            guard allowed.contains(member.key) else {
                throw child(member.key, member.value).error("unknown field (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
            out[member.key] = child(member.key, member.value)
        }
        return out
    }

    /// Members of an object whose keys are free (headers, value maps).
    func members() throws(TemplateError) -> [JSONValue.Member] {
        guard case .object(let members) = value else { throw error("must be an object, found \(value.kindName)") }
        return members
    }

    func string() throws(TemplateError) -> String {
        guard case .string(let text) = value else { throw error("must be a string, found \(value.kindName)") }
        return text
    }

    func bool() throws(TemplateError) -> Bool {
        guard case .bool(let flag) = value else { throw error("must be true or false, found \(value.kindName)") }
        return flag
    }

    func path() throws(TemplateError) -> JSONPath {
        let text = try string()
        do { return try JSONPath(text) } catch { throw self.error("\(error)") }
    }

    /// A path that must select exactly one value (no `[*]`).
    func singlePath() throws(TemplateError) -> JSONPath {
        let path = try path()
        guard path.wildcardCount == 0 else { throw error("'\(path)' uses [*] but must name a single value") }
        return path
    }

    func items() throws(TemplateError) -> [TemplateField] {
        guard case .array(let items) = value else { throw error("must be an array, found \(value.kindName)") }
        return items.enumerated().map { TemplateField(value: $1, field: "\(field)[\($0)]", source: source) }
    }
}
