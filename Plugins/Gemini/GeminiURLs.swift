import TollgatePluginKit

/// Endpoints of the Gemini API: `{base}/{version}/models/{model}:{method}`.
struct GeminiURLs: Sendable, Equatable {
    /// Scheme, host and any path prefix, without a trailing slash.
    let base: String
    let version: String

    init(base: String, version: String) {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.base = String(trimmed)
        self.version = version
    }

    /// The model's resource name: `models/{model}`, or the name itself when it already is one
    /// (`models/...`, `tunedModels/...`).
    static func resource(_ model: String) -> String {
        // Percent-encoded (RFC 3986) so a model name cannot change the path or add a query.
        model.hasPrefix("models/") || model.hasPrefix("tunedModels/")
            ? PercentEncoding.encode(model, keeping: [UInt8(ascii: "/")]) : "models/" + PercentEncoding.encode(model)
    }

    func method(_ method: String, model: String) -> String {
        "\(base)/\(version)/\(Self.resource(model)):\(method)"
    }

    func generateContent(model: String) -> String { method("generateContent", model: model) }
    func streamGenerateContent(model: String) -> String { method("streamGenerateContent", model: model) + "?alt=sse" }
    func batchEmbedContents(model: String) -> String { method("batchEmbedContents", model: model) }
    func embedContent(model: String) -> String { method("embedContent", model: model) }
}
