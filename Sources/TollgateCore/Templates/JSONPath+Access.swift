/// Reading and writing a document at a compiled path.
extension JSONPath {
    /// The one value at a path without wildcards; throws a miss naming the place it stopped.
    public func value(in root: JSONValue) throws(JSONPathMiss) -> JSONValue {
        var current = root
        for (depth, segment) in segments.enumerated() {
            let place = Self.format(segments[..<depth])
            switch segment {
            case .key(let key):
                guard case .object(let members) = current else { throw miss(place, "expected an object, found \(current.kindName)") }
                guard let found = members.first(where: { $0.key == key }) else { throw miss(place, "has no field '\(key)'") }
                current = found.value
            case .index(let index):
                guard case .array(let items) = current else { throw miss(place, "expected an array, found \(current.kindName)") }
                guard let position = Self.resolve(index, count: items.count) else {
                    throw miss(place, "has no element [\(index)] (the array has \(items.count))")
                }
                current = items[position]
            case .wildcard:
                throw miss(place, "[*] selects many values where one is needed")
            }
        }
        return current
    }

    /// Every value the path selects (wildcards expand), each with its concrete segments.
    /// Missing fields and out-of-range indices select nothing.
    public func matches(in root: JSONValue) -> [(segments: [Segment], value: JSONValue)] {
        var out: [([Segment], JSONValue)] = []
        func walk(_ value: JSONValue, _ depth: Int, _ trail: [Segment]) {
            guard depth < segments.count else { out.append((trail, value)); return }
            switch (segments[depth], value) {
            case (.key(let key), .object(let members)):
                if let found = members.first(where: { $0.key == key }) { walk(found.value, depth + 1, trail + [.key(key)]) }
            case (.index(let index), .array(let items)):
                if let position = Self.resolve(index, count: items.count) { walk(items[position], depth + 1, trail + [.index(position)]) }
            case (.wildcard, .array(let items)):
                for (position, item) in items.enumerated() { walk(item, depth + 1, trail + [.index(position)]) }
            default:
                break
            }
        }
        walk(root, 0, [])
        return out
    }

    /// This path with its wildcards replaced, in order, by the indices of `concrete` at the
    /// wildcards of `source` (so `$.a[*].x` -> `$.a[*].y` maps element to element).
    func substituting(wildcardsOf source: JSONPath, from concrete: [Segment]) -> JSONPath {
        let picked = zip(source.segments, concrete).compactMap { pattern, actual in pattern == .wildcard ? actual : nil }
        var next = picked.makeIterator()
        return JSONPath(segments: segments.map { $0 == .wildcard ? (next.next() ?? .wildcard) : $0 })
    }

    /// Sets the value, creating missing objects on the way; `[*]` sets in every element.
    /// Throws when the path crosses a value of the wrong kind or an index out of range.
    public func set(_ value: JSONValue, in root: inout JSONValue) throws(JSONPathMiss) {
        try Self.set(value, in: &root, segments[...], done: [], path: self)
    }

    private static func set(_ value: JSONValue, in node: inout JSONValue, _ rest: ArraySlice<Segment>, done: [Segment],
                            path: JSONPath) throws(JSONPathMiss) {
        guard let segment = rest.first else { node = value; return }
        let tail = rest.dropFirst()
        let place = format(done)
        switch segment {
        case .key(let key):
            if node == .null { node = .object([]) }
            guard case .object(var members) = node else { throw path.miss(place, "expected an object, found \(node.kindName)") }
            node = .null  // release the copy so the members are edited in place
            if let position = members.firstIndex(where: { $0.key == key }) {
                try set(value, in: &members[position].value, tail, done: done + [segment], path: path)
            } else {
                var child = JSONValue.null
                try set(value, in: &child, tail, done: done + [segment], path: path)
                members.append(.init(key, child))
            }
            node = .object(members)
        case .index(let index):
            guard case .array(var items) = node else { throw path.miss(place, "expected an array, found \(node.kindName)") }
            guard let position = resolve(index, count: items.count) else {
                throw path.miss(place, "has no element [\(index)] (the array has \(items.count))")
            }
            node = .null
            try set(value, in: &items[position], tail, done: done + [.index(position)], path: path)
            node = .array(items)
        case .wildcard:
            guard case .array(var items) = node else { throw path.miss(place, "expected an array, found \(node.kindName)") }
            node = .null
            for position in items.indices {
                try set(value, in: &items[position], tail, done: done + [.index(position)], path: path)
            }
            node = .array(items)
        }
    }

    /// Removes what the path selects; a missing field is no error (there is nothing to delete).
    public func remove(from root: inout JSONValue) {
        Self.remove(in: &root, segments[...])
    }

    private static func remove(in node: inout JSONValue, _ rest: ArraySlice<Segment>) {
        guard let segment = rest.first else { return }
        let last = rest.count == 1
        switch (segment, node) {
        case (.key(let key), .object(var members)):
            node = .null
            if last {
                members.removeAll { $0.key == key }
            } else if let position = members.firstIndex(where: { $0.key == key }) {
                remove(in: &members[position].value, rest.dropFirst())
            }
            node = .object(members)
        case (.index(let index), .array(var items)):
            guard let position = resolve(index, count: items.count) else { return }
            node = .null
            if last { items.remove(at: position) } else { remove(in: &items[position], rest.dropFirst()) }
            node = .array(items)
        case (.wildcard, .array(var items)):
            node = .null
            if last { items.removeAll() } else { for position in items.indices { remove(in: &items[position], rest.dropFirst()) } }
            node = .array(items)
        default:
            return
        }
    }

    /// A negative index counts from the end; nil when out of range.
    static func resolve(_ index: Int, count: Int) -> Int? {
        let position = index < 0 ? count + index : index
        return (0..<count).contains(position) ? position : nil
    }

    func miss(_ place: String, _ reason: String) -> JSONPathMiss {
        JSONPathMiss(path: text, place: place, reason: reason)
    }
}

/// A path that selects nothing in an actual document: which path, where it stopped, and why.
public struct JSONPathMiss: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    /// The deepest place that exists, e.g. `$.message.content`.
    public var place: String
    public var reason: String
    public var description: String { "no value at \(path): \(place) \(reason)" }
}

extension JSONValue {
    /// A word for messages: "object", "array", "string"...
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
