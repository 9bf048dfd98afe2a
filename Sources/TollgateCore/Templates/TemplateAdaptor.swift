/// The shared instance of a template for one API version, made and cached by `AdaptorFactory`
/// (dropped when the template changes): its endpoints with the API version filled in.
public final class TemplateAdaptor: Sendable {
    public let template: AdaptorTemplate
    public let apiVersion: String?
    let endpoints: [AdaptorTemplate.Operation: URLPattern]

    /// `apiVersion` is the channel's (empty: the template's default).
    init(template: AdaptorTemplate, apiVersion: String) {
        self.template = template
        let version = apiVersion.isEmpty ? template.apiVersion : apiVersion
        self.apiVersion = version
        endpoints = template.endpoints.mapValues { pattern in
            version.map { pattern.filling(["api_version": URLPattern.encode($0)]) } ?? pattern
        }
    }

    /// A channel's ready-made request parts (endpoint, paths, auth and headers).
    func makeChannel(_ config: ChannelConfig) throws(TemplateFieldProblem) -> TemplateChannel {
        let provider = template.provider
        let base = try URLPattern(config.baseURL ?? template.baseURL).filling(config.options)
        if let missing = base.placeholders.first {
            throw TemplateFieldProblem("template '\(provider)' builds its base URL from {\(missing)}: set options.\(missing) or the channel's base_url")
        }
        let baseURL = base.render { _ in "" }
        guard let (endpoint, basePath) = UpstreamEndpoint.parse(baseURL) else {
            throw TemplateFieldProblem("base_url '\(baseURL)' is not a valid http(s) URL")
        }
        let prefix = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        if endpoints.values.contains(where: { $0.placeholders.contains("api_version") }) {
            throw TemplateFieldProblem("template '\(provider)' needs an API version: set the channel's api_version")
        }
        let key = config.credentials["api_key"].flatMap { $0.isEmpty ? nil : $0 }
        if template.auth.required && key == nil {
            throw TemplateFieldProblem("template '\(provider)' needs credentials.api_key (sent as \(template.auth.describe))")
        }
        var headers: [(String, String)] = [("host", endpoint.hostHeader), ("content-type", "application/json"),
                                           ("user-agent", "tollgate/0.1")]
        var query = ""
        if let key {
            switch template.auth.style {
            case .bearer, .header: headers.append((template.auth.name, template.auth.prefix + key))
            case .query: query = URLPattern.encode(template.auth.name) + "=" + URLPattern.encode(key)
            case .none: break
            }
        }
        headers += template.headers
        return TemplateChannel(adaptor: self, endpoint: endpoint,
                               paths: endpoints.mapValues { URLPattern(parts: [.text(prefix)] + $0.parts).filling([:]) },
                               deployment: config.options["deployment"], headers: headers, authQuery: query)
    }
}

extension AdaptorTemplate.Auth {
    /// How the key is sent, for messages.
    var describe: String {
        switch style {
        case .bearer: "Authorization: Bearer"
        case .header: "header \(name)"
        case .query: "query parameter \(name)"
        case .none: "nothing"
        }
    }
}
