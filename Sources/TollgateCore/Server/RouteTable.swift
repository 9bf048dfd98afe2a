import NIOHTTP1

/// The gateway's routes as a fixed table: what a request needs to be served (decided from its
/// head, before any body byte is read) and the label it is counted under. Labels come only from
/// this table, so no path a client writes can add a metric series.
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
        switch path {
        case "/v1/chat/completions": return Entry(label: "/v1/chat/completions", access: .clientKey)
        case "/v1/embeddings": return Entry(label: "/v1/embeddings", access: .clientKey)
        case "/v1/messages": return Entry(label: "/v1/messages", access: .clientKey, dialect: .anthropic)
        case "/v1/models": return Entry(label: "/v1/models", access: .clientKey)
        case "/healthz": return Entry(label: "/healthz", access: .open)
        case "/readyz": return Entry(label: "/readyz", access: .open)
        case "/metrics": return Entry(label: "/metrics", access: .metrics)
        case "/admin", "/admin/": return Entry(label: "/admin", access: method == .GET || method == .HEAD ? .open : .adminKey)
        default: break
        }
        if let route = GeminiRoute(path: path) {
            return Entry(label: route.stream ? "/v1beta/models/{model}:streamGenerateContent" : "/v1beta/models/{model}:generateContent",
                         access: .clientKey, dialect: .gemini(sse: false))
        }
        if path.hasPrefix("/admin/") { return Entry(label: adminLabel(path), access: .adminKey) }
        return other
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
