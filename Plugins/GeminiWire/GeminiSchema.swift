import TollgatePluginKit

/// JSON Schema (as OpenAI tools and `json_schema` response formats carry it) -> the OpenAPI-style
/// `Schema` subset Gemini takes in `functionDeclarations[].parameters` and
/// `generationConfig.responseSchema`. Gemini refuses a request whose schema holds a key it does
/// not know (`additionalProperties`, `$schema`, `strict`, ...), so only the keys it documents are
/// kept; the common JSON-Schema idioms it lacks are rewritten:
/// - `type: ["string", "null"]` -> `type: "string", nullable: true` (several non-null types -> `anyOf`);
/// - `const: x` -> `enum: [x]`; `oneOf` -> `anyOf`; `allOf` -> its members merged;
/// - local `$ref`s (`#/$defs/...`, `#/definitions/...`) are inlined (to a bounded depth, since
///   Gemini has no references), and `$defs` dropped;
/// - `enum` is kept only when its values are strings (Gemini's enums are string enums);
/// - `format` is kept only where Gemini accepts it (`date-time`/`enum` strings, `int32`/`int64`,
///   `float`/`double`);
/// - `required` names only properties that exist.
public enum GeminiSchema {
    static let kept: Set<String> = [
        "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties", "required",
        "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf", "propertyOrdering",
        "default", "items", "minimum", "maximum",
    ]
    static let formats: Set<String> = ["date-time", "enum", "int32", "int64", "float", "double"]
    static let maxRefDepth = 8

    public static func convert(_ schema: JSONValue) -> JSONValue {
        let definitions = (schema["$defs"]?.objectValue ?? []) + (schema["definitions"]?.objectValue ?? [])
        var defs: [String: JSONValue] = [:]
        for member in definitions { defs[member.key] = member.value }
        return convert(schema, defs: defs, depth: 0)
    }

    /// Whether a converted `parameters` schema declares nothing: Gemini refuses an OBJECT schema
    /// with empty `properties`, so such a declaration is sent without `parameters`.
    public static func isEmptyObject(_ schema: JSONValue) -> Bool {
        guard schema["type"]?.stringValue?.lowercased() == "object" else { return false }
        return schema["properties"]?.objectValue?.isEmpty ?? true
    }

    private static func convert(_ schema: JSONValue, defs: [String: JSONValue], depth: Int) -> JSONValue {
        guard case .object(var members) = schema else { return schema }
        if let ref = schema["$ref"]?.stringValue {
            let name = ref.hasPrefix("#/$defs/") ? String(ref.dropFirst(8)) : ref.hasPrefix("#/definitions/") ? String(ref.dropFirst(14)) : nil
            guard let name, let target = defs[name], depth < maxRefDepth else {
                return JSONValue.object(["type": .string("object")]).merging(description: schema["description"])
            }
            var resolved = convert(target, defs: defs, depth: depth + 1)
            if let description = schema["description"] { resolved = resolved.setting("description", description) }
            return resolved
        }
        if let parts = schema["allOf"]?.arrayValue, !parts.isEmpty {
            members.removeAll { $0.key == "allOf" }
            for part in parts {
                guard case .object(let extra) = convert(part, defs: defs, depth: depth) else { continue }
                for member in extra {
                    if let i = members.firstIndex(where: { $0.key == member.key }) {
                        members[i].value = mergeAllOf(members[i].value, member.value, key: member.key)
                    } else {
                        members.append(member)
                    }
                }
            }
        }
        var out: [JSONValue.Member] = []
        var nullable = false
        for member in members {
            switch member.key {
            case "type":
                guard case .array(let types) = member.value else { out.append(member); continue }
                let names = types.compactMap(\.stringValue)
                let nonNull = names.filter { $0 != "null" }
                nullable = nullable || nonNull.count < names.count
                if nonNull.count == 1 { out.append(.init("type", .string(nonNull[0]))) }
                else if nonNull.count > 1 {
                    out.append(.init("anyOf", .array(nonNull.map { .object(["type": .string($0)]) })))
                }
            case "const":
                if case .string = member.value { out.append(.init("enum", .array([member.value]))) }
            case "oneOf", "anyOf":
                var items: [JSONValue] = []
                for item in member.value.arrayValue ?? [] {
                    if item["type"]?.stringValue == "null" { nullable = true; continue }
                    items.append(convert(item, defs: defs, depth: depth))
                }
                if items.count == 1, case .object(let only) = items[0] {
                    // One alternative left (`anyOf: [X, null]`): X itself, under the keys this schema lacks.
                    let taken = Set(out.map(\.key)).union(members.map(\.key))
                    out.append(contentsOf: only.filter { !taken.contains($0.key) })
                } else if !items.isEmpty {
                    out.append(.init("anyOf", .array(items)))
                }
            case "enum":
                guard let values = member.value.arrayValue else { continue }
                if values.contains(.null) { nullable = true }
                let strings = values.filter { $0 != .null }
                if !strings.isEmpty, strings.allSatisfy({ $0.stringValue != nil }) { out.append(.init("enum", .array(strings))) }
            case "format":
                if let format = member.value.stringValue, formats.contains(format) { out.append(member) }
            case "properties":
                guard let properties = member.value.objectValue else { continue }
                out.append(.init("properties", .object(properties.map { .init($0.key, convert($0.value, defs: defs, depth: depth)) })))
            case "items":
                if case .array(let tuple) = member.value, let first = tuple.first {
                    out.append(.init("items", convert(first, defs: defs, depth: depth)))
                } else {
                    out.append(.init("items", convert(member.value, defs: defs, depth: depth)))
                }
            case "nullable":
                if member.value.boolValue == true { nullable = true }
            case "required":
                let names = Set((members.first { $0.key == "properties" }?.value.objectValue ?? []).map(\.key))
                let required = (member.value.arrayValue ?? []).filter { $0.stringValue.map(names.contains) ?? false }
                if !required.isEmpty { out.append(.init("required", .array(required))) }
            default:
                if kept.contains(member.key) { out.append(member) }
            }
        }
        if nullable { out.append(.init("nullable", .bool(true))) }
        return .object(out)
    }

    /// Two values of one key met in `allOf`: properties and required lists are united, otherwise
    /// the first wins.
    private static func mergeAllOf(_ first: JSONValue, _ second: JSONValue, key: String) -> JSONValue {
        switch (key, first, second) {
        case ("properties", .object(let a), .object(let b)):
            return .object(a + b.filter { m in !a.contains { $0.key == m.key } })
        case ("required", .array(let a), .array(let b)):
            return .array(a + b.filter { !a.contains($0) })
        default:
            return first
        }
    }
}

private extension JSONValue {
    /// This object with `description` added when there is one.
    func merging(description: JSONValue?) -> JSONValue {
        guard let description else { return self }
        return setting("description", description)
    }
}
