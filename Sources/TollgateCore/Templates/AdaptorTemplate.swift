/// A provider described in data (a JSON template), validated and compiled: its paths parsed,
/// its URLs split into parts. Made once when the file loads; requests only read it.
public struct AdaptorTemplate: Sendable, Equatable {
    public enum Operation: String, Sendable, CaseIterable {
        /// `completions`: legacy text completions, passed through (OpenAI-compatible servers).
        case chat, embeddings, completions
    }

    public struct Auth: Sendable, Equatable {
        public enum Style: String, Sendable, CaseIterable { case bearer, header, query, none }
        public var style: Style
        /// Header or query parameter name (`header`, `query`).
        public var name: String
        /// Written before the key in a header (`bearer` uses `Bearer `).
        public var prefix: String
        /// A channel without `credentials.api_key` is refused when true; otherwise it sends none.
        public var required: Bool
    }

    public enum StreamFormat: Sendable, Equatable {
        /// OpenAI SSE, forwarded as it comes; `includeUsage` sets `stream_options.include_usage`
        /// upstream (false for providers that refuse the field or always send usage).
        case openAI(includeUsage: Bool)
        case events(EventStreamMapping)
    }

    public var provider: String
    public var name: String
    /// Where the file came from (path, or `admin` for an installed template), for reports.
    public var source: String
    public var baseURL: String
    public var apiVersion: String?
    public var endpoints: [Operation: URLPattern]
    public var auth: Auth
    public var headers: [(String, String)]
    /// Edits applied to chat request bodies, in order.
    public var request: [MappingOp]
    /// Nil: answers are OpenAI chat completions, passed through.
    public var response: ResponseMapping?
    public var stream: StreamFormat
    /// Nil: embeddings requests and answers are OpenAI's, passed through.
    public var embeddings: EmbeddingsMapping? = nil

    /// True when bodies pass through untouched both ways (only URL, auth and headers differ).
    public var passesBodiesThrough: Bool {
        if case .openAI = stream { return request.isEmpty && response == nil }
        return false
    }

    public static func == (a: AdaptorTemplate, b: AdaptorTemplate) -> Bool {
        a.provider == b.provider && a.name == b.name && a.source == b.source && a.baseURL == b.baseURL
            && a.apiVersion == b.apiVersion && a.endpoints == b.endpoints && a.auth == b.auth
            && a.headers.elementsEqual(b.headers, by: ==) && a.request == b.request && a.response == b.response
            && a.stream == b.stream && a.embeddings == b.embeddings
    }
}
