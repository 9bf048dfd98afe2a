/// A price list in LiteLLM's `model_prices_and_context_window.json` shape: one object per model
/// name. Parsing keeps each entry's exact text (prices are never rounded through a Double).
public struct PriceCatalog: Sendable {
    /// Entries by model name, each a JSON object's bytes.
    public var entries: [String: [UInt8]]
    /// Entries that are not price objects, with why (LiteLLM's `sample_spec` documents the schema).
    public var skipped: [(name: String, reason: String)]

    public init(entries: [String: [UInt8]] = [:], skipped: [(name: String, reason: String)] = []) {
        self.entries = entries
        self.skipped = skipped
    }

    public struct Malformed: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Parses a whole price document. A document that is not a JSON object is refused whole.
    public static func parse(_ bytes: [UInt8], source: String) throws(Malformed) -> PriceCatalog {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            throw Malformed(description: "\(source): not valid JSON: \(error)")
        }
        guard let members = root.objectValue else {
            throw Malformed(description: "\(source): must be a JSON object of model name -> price entry")
        }
        var catalog = PriceCatalog()
        for member in members {
            if member.key == "sample_spec" {
                catalog.skipped.append((member.key, "LiteLLM's schema description, not a model"))
            } else if case .object = member.value {
                catalog.entries[member.key] = member.value.serialized()
            } else {
                catalog.skipped.append((member.key, "entry is not a JSON object"))
            }
        }
        return catalog
    }

    /// This catalog with `override`'s entries laid over it: an override entry replaces only the
    /// fields it names, so a local file can change one price of a synced model.
    public func overlaid(with override: PriceCatalog) -> PriceCatalog {
        var merged = self
        for (name, bytes) in override.entries {
            guard let base = entries[name], case .object(var fields)? = try? JSONParser.parse(base),
                  case .object(let changes)? = try? JSONParser.parse(bytes) else {
                merged.entries[name] = bytes
                continue
            }
            for change in changes {
                if let i = fields.firstIndex(where: { $0.key == change.key }) { fields[i] = change } else { fields.append(change) }
            }
            merged.entries[name] = JSONValue.object(fields).serialized()
        }
        return merged
    }
}

/// What a sync changed, for the command line and the log.
public struct PriceSyncSummary: Sendable, CustomStringConvertible {
    public var added: [String] = []
    public var changed: [String] = []
    public var removed: [String] = []
    public var skipped: [(name: String, reason: String)] = []

    public init() {}

    /// Compares the previous synced catalog with the new one; entries the billing plugin refused
    /// are in `skipped`, not in the other lists.
    public init(old: PriceCatalog, new: PriceCatalog, refused: [(name: String, reason: String)]) {
        let refusedNames = Set(refused.map(\.name))
        for (name, bytes) in new.entries where !refusedNames.contains(name) {
            if let before = old.entries[name] {
                if before != bytes { changed.append(name) }
            } else {
                added.append(name)
            }
        }
        removed = old.entries.keys.filter { new.entries[$0] == nil }
        skipped = new.skipped + refused.map { item in
            (item.name, item.reason + (old.entries[item.name] == nil ? "" : " (its previous price stays in force)"))
        }
        added.sort(); changed.sort(); removed.sort()
    }

    public var description: String {
        "\(added.count) added, \(changed.count) changed, \(removed.count) removed, \(skipped.count) skipped"
    }
}
