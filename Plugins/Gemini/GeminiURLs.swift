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
        model.hasPrefix("models/") || model.hasPrefix("tunedModels/") ? escape(model, keepSlash: true) : "models/" + escape(model, keepSlash: false)
    }

    func method(_ method: String, model: String) -> String {
        "\(base)/\(version)/\(Self.resource(model)):\(method)"
    }

    func generateContent(model: String) -> String { method("generateContent", model: model) }
    func streamGenerateContent(model: String) -> String { method("streamGenerateContent", model: model) + "?alt=sse" }
    func batchEmbedContents(model: String) -> String { method("batchEmbedContents", model: model) }
    func embedContent(model: String) -> String { method("embedContent", model: model) }

    /// Percent-encodes what is not an unreserved character (RFC 3986), so a model name cannot
    /// change the path or add a query.
    static func escape(_ segment: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }
}
