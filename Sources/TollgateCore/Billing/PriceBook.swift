/// The prices in force: every model's compiled entry, built from the synced list with local files
/// laid over it. Immutable; a reload builds a new book and swaps it in whole.
public final class PriceBook: Sendable {
    public struct Priced: Sendable {
        /// The entry's name in the price list (e.g. `gemini/gemini-2.5-pro`).
        public let name: String
        public let price: CompiledPrice
        /// Where it came from: `bundled`, `synced`, `builtin` or the local file's path.
        public let source: String
    }

    public let models: [String: Priced]
    /// Entries the billing plugin refused, with the reason (entry named).
    public let refused: [(name: String, reason: String)]

    /// `models` by each `<prefix>/` their names start with, so `find` looks a model up without
    /// joining strings (it runs for every request).
    private let byPrefix: [String: [String: Priced]]

    init(models: [String: Priced], refused: [(name: String, reason: String)]) {
        self.models = models
        self.refused = refused
        var byPrefix: [String: [String: Priced]] = [:]
        for (name, priced) in models {
            for slash in name.indices where name[slash] == "/" {
                byPrefix[String(name[..<slash]), default: [:]][String(name[name.index(after: slash)...])] = priced
            }
        }
        self.byPrefix = byPrefix
    }

    public static let empty = PriceBook(models: [:], refused: [])

    /// Compiles each layer's entries (later layers override earlier ones, field by field). A
    /// refused entry is reported and keeps no price; the others still load.
    public static func build(layers: [(source: String, catalog: PriceCatalog)], engine: BillingEngine) -> PriceBook {
        var merged = PriceCatalog()
        var origin: [String: String] = [:]
        for layer in layers {
            merged = merged.overlaid(with: layer.catalog)
            for name in layer.catalog.entries.keys { origin[name] = layer.source }
        }
        var models: [String: Priced] = [:]
        var refused: [(name: String, reason: String)] = []
        for (name, bytes) in merged.entries {
            do {
                models[name] = Priced(name: name, price: try engine.compile(bytes), source: origin[name] ?? "")
            } catch {
                refused.append((name, "\(origin[name] ?? "price list"): \(name): \(error.message)"))
            }
        }
        refused.sort { $0.name < $1.name }
        return PriceBook(models: models, refused: refused)
    }

    /// The entry for `model`: `<prefix>/<model>` for each of the channel's price prefixes (LiteLLM's
    /// names, e.g. `anthropic/claude-...`), then the bare model name.
    public func find(model: String, prefixes: [String]) -> Priced? {
        for prefix in prefixes {
            if let priced = byPrefix[prefix]?[model] { return priced }
        }
        return models[model]
    }
}
