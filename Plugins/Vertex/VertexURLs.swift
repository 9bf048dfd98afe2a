import TollgatePluginKit

/// Endpoints of the Vertex AI publisher-model APIs for one project and location.
///
/// Path segments are percent-encoded, except `@`, which is legal in a path segment and which
/// Anthropic model versions on Vertex contain (`claude-sonnet-4@20250514`); `:` is encoded because
/// it separates the model from the method.
public struct VertexURLs: Sendable, Equatable {
    /// Scheme and host (and any path prefix), without a trailing slash.
    public let base: String
    public let project: String
    public let location: String
    public let apiVersion: String

    /// - Parameter baseURL: overrides the regional endpoint (a proxy, or a mock in tests).
    public init(project: String, location: String, apiVersion: String = "v1", baseURL: String? = nil) throws(PluginError) {
        guard !project.isEmpty else { throw PluginError(.config, "Vertex project id is empty") }
        guard !location.isEmpty else { throw PluginError(.config, "Vertex location is empty") }
        guard !apiVersion.isEmpty else { throw PluginError(.config, "Vertex API version is empty") }
        if let baseURL, !baseURL.isEmpty {
            guard baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://") else {
                throw PluginError(.config, "Vertex base URL \"\(baseURL)\" is not an http(s) URL")
            }
            var trimmed = Substring(baseURL)
            while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
            base = String(trimmed)
        } else {
            base = try VertexURLs.defaultBase(location: location)
        }
        self.project = project
        self.location = location
        self.apiVersion = apiVersion
    }

    /// `https://{location}-aiplatform.googleapis.com`, or `https://aiplatform.googleapis.com` for
    /// `global`. The location becomes part of a host name, so it must be a DNS label.
    public static func defaultBase(location: String) throws(PluginError) -> String {
        if location == "global" { return "https://aiplatform.googleapis.com" }
        let isLabel = location.utf8.count <= 63 && location.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"): true
            default: false
            }
        } && !location.hasPrefix("-") && !location.hasSuffix("-")
        guard isLabel else {
            throw PluginError(.config, "Vertex location \"\(location)\" is not a region name like \"us-central1\"")
        }
        return "https://\(location)-aiplatform.googleapis.com"
    }

    public enum Publisher: String, Sendable {
        case google, anthropic
    }

    /// `{base}/{version}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}`
    public func model(_ model: String, publisher: Publisher, method: String) -> String {
        "\(base)/\(segment(apiVersion))/projects/\(segment(project))/locations/\(segment(location))"
            + "/publishers/\(publisher.rawValue)/models/\(segment(model)):\(method)"
    }

    /// Gemini, whole answer.
    public func generateContent(model: String) -> String {
        self.model(model, publisher: .google, method: "generateContent")
    }

    /// Gemini, streamed as server-sent events.
    public func streamGenerateContent(model: String) -> String {
        self.model(model, publisher: .google, method: "streamGenerateContent?alt=sse")
    }

    /// Claude (Anthropic Messages body), whole answer.
    public func rawPredict(model: String) -> String {
        self.model(model, publisher: .anthropic, method: "rawPredict")
    }

    /// Claude, streamed (Anthropic's SSE events).
    public func streamRawPredict(model: String) -> String {
        self.model(model, publisher: .anthropic, method: "streamRawPredict")
    }

    private func segment(_ value: String) -> String {
        PercentEncoding.encode(value, keeping: [UInt8(ascii: "@")])
    }
}
