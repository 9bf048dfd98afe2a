/// One edit of a request mapping. `copy` and `rename` with wildcards map element to element:
/// `$.messages[*].content` -> `$.messages[*].text` renames the field inside every message.
/// A source that is absent is skipped (clients leave optional fields out).
public enum MappingOp: Sendable, Equatable {
    case copy(from: JSONPath, to: JSONPath)
    case rename(from: JSONPath, to: JSONPath)
    case set(JSONPath, JSONValue)
    case delete(JSONPath)

    public func apply(to document: inout JSONValue) throws(JSONPathMiss) {
        switch self {
        case .copy(let from, let to), .rename(let from, let to):
            let found = from.matches(in: document)
            if case .rename = self { from.remove(from: &document) }
            for (concrete, value) in found {
                try to.substituting(wildcardsOf: from, from: concrete).set(value, in: &document)
            }
        case .set(let path, let value):
            try path.set(value, in: &document)
        case .delete(let path):
            path.remove(from: &document)
        }
    }
}
