/// An `openai` channel whose base URL is Azure OpenAI's
/// (`https://{resource}.openai.azure.com/openai/deployments/{deployment}/...?api-version=...`,
/// also `*.cognitiveservices.azure.com`, or any host with an `/openai/deployments/` path): it is
/// called with `api-key` auth on deployment URLs with an `api-version`. Azure's `/openai/v1`
/// API takes OpenAI paths as they are, with `api-key` auth and no version.
struct AzureOpenAI: Sendable, Equatable {
    /// Path before `/openai` (empty for Azure itself; a proxy may add one).
    var prefix: String
    /// From the URL; nil: `options.deployment`, else the upstream model name.
    var deployment: String?
    var apiVersion: String?
    /// Azure's OpenAI-compatible `/openai/v1` API.
    var v1: Bool

    static let defaultAPIVersion = "2024-10-21"
    static let hostSuffixes = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"]

    /// Recognises an Azure URL (host and path with query, as `UpstreamEndpoint.parse` splits them).
    static func detect(host: String, path: String, options: [String: String] = [:]) -> AzureOpenAI? {
        let parts = path.split(separator: "?", maxSplits: 1)
        let route = parts.first.map(String.init) ?? ""
        let query = parts.count > 1 ? String(parts[1]) : ""
        let azureHost = hostSuffixes.contains { host.lowercased().hasSuffix($0) }
        guard azureHost || route.contains("/openai/deployments/") || options["azure"] == "true" else { return nil }
        var version: String?
        for pair in query.split(separator: "&") where pair.hasPrefix("api-version=") {
            version = String(pair.dropFirst("api-version=".count)).removingPercentEncoding
        }
        if let range = route.range(of: "/openai/v1") {
            return AzureOpenAI(prefix: String(route[..<range.lowerBound]), deployment: nil, apiVersion: nil, v1: true)
        }
        var prefix = route.hasSuffix("/") ? String(route.dropLast()) : route
        var deployment: String?
        if let range = route.range(of: "/openai/deployments/") {
            prefix = String(route[..<range.lowerBound])
            deployment = route[range.upperBound...].split(separator: "/").first.map(String.init)
        } else if let range = route.range(of: "/openai") {
            prefix = String(route[..<range.lowerBound])
        }
        return AzureOpenAI(prefix: prefix, deployment: deployment ?? options["deployment"], apiVersion: version, v1: false)
    }

    /// The request path for an operation and upstream model.
    func path(chat: Bool, model: String, apiVersion override: String?) -> String {
        let operation = chat ? "chat/completions" : "embeddings"
        if v1 { return prefix + "/openai/v1/" + operation }
        let version = override ?? apiVersion ?? Self.defaultAPIVersion
        return prefix + "/openai/deployments/" + URLPattern.encode(deployment ?? model) + "/" + operation
            + "?api-version=" + URLPattern.encode(version)
    }
}
