import NIOHTTP1

/// The gateway's routes as a fixed table: what a request needs to be served (decided from its
/// head, before any body byte is read) and the label it is counted under: a model route's name
/// (`ClientRouteName`), else a fixed path. Labels come only from this table, so no path a client
/// writes can add a metric series.
enum RouteTable {
    enum Access: Equatable {
        /// Served to anyone: `/healthz`, `/readyz`, the admin page.
        case open
        /// `/metrics`: open or behind the admin key (`admin.metrics_auth`).
        case metrics
        /// A client key; unknown paths too, so only key holders learn which routes exist.
        case clientKey
        /// The admin key.
        case adminKey
    }

    /// Which listener serves a route when `admin.listen` gives operations a listener of their own.
    enum Listener: Sendable {
        /// The one listener of a gateway without `admin.listen`: every route.
        case all
        /// Client routes, `/healthz` and `/readyz`.
        case client
        /// `/admin...`, `/metrics`, `/healthz` and `/readyz`.
        case admin
    }

    struct Entry {
        var label: String  // literals: immortal, never allocated per request
        var access: Access
        /// The client dialect errors are written in.
        var dialect: ClientDialect = .openAI

        /// Whether `listener` serves this route.
        func served(on listener: Listener) -> Bool {
            switch listener {
            case .all: true
            case .client: access == .clientKey || label == "/healthz" || label == "/readyz"
            case .admin: access != .clientKey
            }
        }
    }

    static let other = Entry(label: "other", access: .clientKey)

    static func entry(method: HTTPMethod, path: Substring) -> Entry {
        if let name = ClientRouteName(path: path) {
            return Entry(label: name.rawValue, access: .clientKey, dialect: dialect(of: path))
        }
        switch path {
        case "/v1/models": return Entry(label: "/v1/models", access: .clientKey)
        case "/healthz": return Entry(label: "/healthz", access: .open)
        case "/readyz": return Entry(label: "/readyz", access: .open)
        case "/metrics": return Entry(label: "/metrics", access: .metrics)
        case "/admin", "/admin/": return Entry(label: "/admin", access: method == .GET || method == .HEAD ? .open : .adminKey)
        default: break
        }
        if path.hasBytePrefix("/admin/") { return Entry(label: adminLabel(path), access: .adminKey) }
        return other
    }

    /// The dialect a model route's errors are written in, decided before its body is read.
    private static func dialect(of path: Substring) -> ClientDialect {
        if path.hasBytePrefix("/v1/chat/") { return .openAI }
        if path.hasBytePrefix("/v1/messages") { return .anthropic }
        if path == "/v1/responses" { return .responses }
        return GeminiRoute(path: path) == nil ? .openAI : .gemini(sse: false)
    }

    /// `/admin/{collection}` for the admin routes (a name after it is not part of the label).
    private static func adminLabel(_ path: Substring) -> String {
        let collection = path.dropFirst("/admin/".count).prefix { $0 != "/" }
        switch collection {
        case "usage": return "/admin/usage"
        case "requests": return "/admin/requests"
        case "budgets": return "/admin/budgets"
        case "health": return "/admin/health"
        case "plugins": return "/admin/plugins"
        case "keys": return "/admin/keys"
        case "channels": return "/admin/channels"
        case "templates": return "/admin/templates"
        case "prices": return path.hasPrefix("/admin/prices/sync") ? "/admin/prices/sync" : "/admin/prices"
        case "exchange-rates": return "/admin/exchange-rates"
        default: return "/admin/other"
        }
    }
}

/// The names model routes are recorded under (the ledger's `route` column, the metrics' `route`
/// label), whatever the dialect's path: Gemini's `:generateContent` is `chat`, `:embedContent` is
/// `embeddings`, both count routes are `count_tokens`.
enum ClientRouteName: String, Sendable {
    case chat, responses, embeddings, completions
    case countTokens = "count_tokens"
    /// `GET`/`DELETE /v1/responses/{id}` (one name, not one per id).
    case storedResponses = "stored_responses"

    /// The name of a client route's path; nil for the gateway's other routes (recorded by path).
    init?(path: Substring) {
        switch path {
        case "/v1/chat/completions", "/v1/messages": self = .chat
        case "/v1/responses": self = .responses
        case "/v1/embeddings": self = .embeddings
        case "/v1/completions": self = .completions
        case "/v1/messages/count_tokens": self = .countTokens
        default:
            if path.hasBytePrefix(StoredResponseRoute.prefix) { self = .storedResponses; return }
            switch GeminiRoute(path: path)?.method {
            case .generateContent?, .streamGenerateContent?: self = .chat
            case .embedContent?, .batchEmbedContents?: self = .embeddings
            case .countTokens?: self = .countTokens
            case nil: return nil
            }
        }
    }
}
