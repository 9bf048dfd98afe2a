import TollgatePluginKit

/// Reading Gemini JSON leniently. Google's API writes camelCase, but its proto-JSON parser also
/// accepts snake_case and some clients (google-genai) write it, so every read of a Gemini body
/// tries the camelCase name first and its snake_case twin second.
extension JSONValue {
    /// The member named `camelKey`, or its snake_case spelling (`usageMetadata` / `usage_metadata`).
    public func gemini(_ camelKey: String) -> JSONValue? {
        if let found = self[camelKey] { return found }
        let snake = GeminiKeys.snakeCase(camelKey)
        return snake == camelKey ? nil : self[snake]
    }

    /// A copy with `key` set (replaced in place, or appended).
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        if let i = members.firstIndex(where: { $0.key == key }) { members[i].value = value } else { members.append(.init(key, value)) }
        return .object(members)
    }
}

enum GeminiKeys {
    /// `usageMetadata` -> `usage_metadata`.
    static func snakeCase(_ camel: String) -> String {
        var out = ""
        out.reserveCapacity(camel.utf8.count + 4)
        for scalar in camel.unicodeScalars {
            if scalar.properties.isUppercase {
                out.append("_")
                out.append(contentsOf: String(scalar).lowercased())
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Small pieces shared by the converters.
enum Wire {
    /// A random hex string for ids Gemini does not give (`chatcmpl-...`).
    static func randomID(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64, b = generator.next() as UInt32
        return prefix + String(a, radix: 16) + String(b, radix: 16)
    }

    static func parse(_ bytes: [UInt8]) -> JSONValue? { try? JSONParser.parse(bytes) }

    /// The text of an OpenAI message `content`: a string, or the text of its text parts.
    static func text(of content: JSONValue?) -> String? {
        switch content {
        case .string(let s)?: return s
        case .array(let parts)?:
            return parts.compactMap { part -> String? in
                guard let type = part["type"]?.stringValue, type == "text" || type == "input_text" || type == "refusal" else { return nil }
                return part["text"]?.stringValue ?? part["refusal"]?.stringValue
            }.joined()
        default: return nil
        }
    }
}
