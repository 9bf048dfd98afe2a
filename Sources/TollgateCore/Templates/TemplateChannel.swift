import NIOHTTP1

/// A channel served by a template: everything a request needs that does not depend on the
/// request is made here once (endpoint, headers with the key, path patterns).
public final class TemplateChannel: Sendable {
    let adaptor: TemplateAdaptor
    let endpoint: UpstreamEndpoint
    /// Per operation, the full path; `{model}` and `{deployment}` are left for each request.
    let paths: [AdaptorTemplate.Operation: URLPattern]
    /// `options.deployment`: Azure-style deployment name (default: the upstream model name).
    let deployment: String?
    /// The template's headers with the key, made into lines once.
    let lines: FieldLines
    /// `name=key` when the key goes in the query string.
    let authQuery: String

    var template: AdaptorTemplate { adaptor.template }

    init(adaptor: TemplateAdaptor, endpoint: UpstreamEndpoint, paths: [AdaptorTemplate.Operation: URLPattern],
         deployment: String?, headers: [(String, String)], authQuery: String) {
        self.adaptor = adaptor
        self.endpoint = endpoint
        self.paths = paths
        self.deployment = deployment
        lines = FieldLines(HTTPHeaders(headers))
        self.authQuery = authQuery
    }

    /// The request path for an operation and upstream model; nil when the template lacks it.
    func path(_ operation: AdaptorTemplate.Operation, model: String) -> String? {
        guard let pattern = paths[operation] else { return nil }
        var path = pattern.render { name in
            URLPattern.encode(name == "deployment" ? (deployment ?? model) : model)
        }
        if path.isEmpty { path = "/" }
        if !authQuery.isEmpty { path += (path.contains("?") ? "&" : "?") + authQuery }
        return path
    }

    /// True when this call's answer comes back as OpenAI bytes (forwarded, metered on the side).
    func answersInOpenAI(stream: Bool, operation: AdaptorTemplate.Operation) -> Bool {
        if operation == .embeddings { return template.embeddings == nil }
        if operation != .chat { return true }
        if stream, case .openAI = template.stream { return true }
        return !stream && template.response == nil
    }

    /// Whether the gateway sets `stream_options.include_usage` upstream for a stream.
    var injectsIncludeUsage: Bool {
        if case .openAI(let includeUsage) = template.stream { return includeUsage }
        return false
    }

    func makeStream(model: String, includeUsage: Bool) -> TemplateStream? {
        guard case .events(let mapping) = template.stream, let response = template.response else { return nil }
        return TemplateStream(mapping: mapping, response: response, model: model, includeUsage: includeUsage)
    }
}
