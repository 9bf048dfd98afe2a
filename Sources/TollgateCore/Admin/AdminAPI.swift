import Foundation
import NIOCore
import NIOHTTP1

/// `/admin/...`: operator routes, behind the configured `admin_key` (Bearer). Work that touches
/// storage runs off the event loop; the answer is written back on it.
struct AdminAPI {
    let handler: RequestHandler
    var runtime: GatewayRuntime { handler.runtime }

    func dispatch(head: RequestHead, path: Substring, query: [String: String], body: ByteBuffer) throws {
        guard let admin = runtime.admin else {
            throw GatewayError.notFound("the admin API is off: set admin_key in the configuration", code: "admin_disabled")
        }
        if head.method == .GET || head.method == .HEAD, path == "/admin" || path == "/admin/" {
            return AdminPage.serve(handler)  // the page asks for the key itself; a HEAD answer carries its head only
        }
        // The admin key was checked at the request's head (`HeadAdmission`), before its body was read.
        switch (head.method, path) {
        case (.GET, "/admin/usage"):
            guard let grouping = UsageQuery.Grouping(rawValue: query["group_by"] ?? "key") else {
                throw GatewayError.badRequest("group_by must be one of key, model, channel, day", code: "invalid_group_by")
            }
            var usage = UsageQuery(groupBy: grouping, key: query["key"])
            if let split = query["split_by"], !split.isEmpty {
                guard let splitting = UsageQuery.Grouping(rawValue: split), splitting != grouping else {
                    throw GatewayError.badRequest("split_by must be one of key, model, channel, day, other than group_by", code: "invalid_split_by")
                }
                usage.splitBy = splitting
            }
            for (name, keyPath) in [("from", \UsageQuery.from), ("to", \UsageQuery.to)] {
                guard let text = query[name] else { continue }
                guard let day = UsageReport.parseDay(text) else {
                    throw GatewayError.badRequest("\(name) must be a day like 2026-11-01", code: "invalid_\(name)")
                }
                usage[keyPath: keyPath] = day
            }
            let report = usage
            let currency = admin.prices.settings.currency
            answer { try await JSONValue.object(["data": .array(admin.storage.usageReport(report).map(\.json)), "currency": .string(currency)]) }
        case (.GET, "/admin/requests"):
            let recent = try Self.recentRequests(query)
            answer { try await .object(["data": .array(admin.storage.recentRequests(recent).map(\.json))]) }
        case (.GET, "/admin/plugins"):
            guard let gateway = admin.link.gateway else { throw GatewayError.unavailable("the gateway is starting") }
            handler.writeJSON(status: 200, body: Self.plugins(gateway).serialized())
            handler.requestEnded(status: 200)
        case (.POST, "/admin/reload"):
            guard let gateway = admin.link.gateway else { throw GatewayError.unavailable("the gateway is starting") }
            answer {
                do { return try await gateway.reload().json } catch let error as ConfigError {
                    throw GatewayError.badRequest("config reload refused; the running config stays: \(error)", code: "invalid_config")
                }
            }
        case (.GET, "/admin/budgets"):
            let rows = runtime.budgets.keyNames.map { name -> JSONValue in
                let spent = runtime.budgets.spent(key: name)
                return .object(["key": .string(name), "spent": spent.map { .number($0.decimal) } ?? .null,
                                "currency": spent.map { .string($0.currency) } ?? .null])
            }
            handler.writeJSON(status: 200, body: JSONValue.object(["data": .array(rows)]).serialized())
            handler.requestEnded(status: 200)
        case (.POST, _) where AdminSuccessors.matches(path):
            try AdminSuccessors.accept(handler, admin: admin, path: path, body: body)
        case (_, _) where ManagedObjectsAPI.Route(path: path) != nil:
            guard let route = ManagedObjectsAPI.Route(path: path) else { return }
            try ManagedObjectsAPI(api: self, admin: admin).serve(head: head, body: body, route: route)
        case (.POST, "/admin/prices/sync"):
            let source = query["from"]
            // A path would read a file on the gateway's host: files are synced with the CLI.
            if let source, !(source.hasPrefix("http://") || source.hasPrefix("https://")) {
                throw GatewayError.badRequest("from must be an http(s) URL; sync a local file with `tollgate prices sync --from FILE`",
                                              code: "invalid_from")
            }
            answer {
                let summary = try await admin.prices.sync(from: source ?? admin.prices.settings.syncURL ?? PricingSettings.liteLLMURL)
                return .object(["added": .int(summary.added.count), "changed": .int(summary.changed.count),
                                "removed": .int(summary.removed.count),
                                "skipped": .array(summary.skipped.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) })])
            }
        case (.GET, "/admin/health"):
            handler.writeJSON(status: 200, body: AdminHealth.report(runtime: runtime).serialized())
            handler.requestEnded(status: 200)
        case (.GET, "/admin/keys"):
            let snapshot = runtime.snapshot.keys, budgets = runtime.budgets
            answer { try await AdminKeys.list(admin: admin, keys: snapshot, budgets: budgets) }
        case (.POST, "/admin/keys"):
            let request = try AdminKeys.parseCreate(body, rates: runtime.rates.rates)
            let runtime = self.runtime
            answer(status: 201) { try await AdminKeys.create(request, admin: admin, runtime: runtime) }
        case (_, _) where path.hasPrefix("/admin/keys/"):
            try keyRoute(head.method, path: path.dropFirst("/admin/keys/".count), body: body, admin: admin)
        default:
            throw GatewayError.notFound("no admin route for \(head.method.rawValue) \(path)", code: "unknown_route")
        }
    }

    /// `/admin/keys/{name}` (PATCH changes, DELETE revokes) and `/admin/keys/{name}/rotate` (POST).
    private func keyRoute(_ method: HTTPMethod, path rest: Substring, body: ByteBuffer, admin: AdminContext) throws {
        let rotate = rest.hasSuffix("/rotate")
        let name = String(rotate ? rest.dropLast("/rotate".count) : rest).removingPercentEncoding ?? ""
        let runtime = self.runtime
        switch (method, rotate) {
        case (.PATCH, false):
            let change = try KeyPayload(body, allowed: KeyPayload.changeable).change(rates: runtime.rates.rates, now: unixSeconds())
            answer { try await AdminKeys.update(name, change, admin: admin, runtime: runtime) }
        case (.DELETE, false):
            answer { try await AdminKeys.revoke(name, admin: admin, runtime: runtime) }
        case (.POST, true):
            let grace = try KeyPayload(body, allowed: ["grace"], emptyIsObject: true).grace()
            answer { try await AdminKeys.rotate(name, graceSeconds: grace, admin: admin, runtime: runtime) }
        default:
            throw GatewayError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                               message: "\(method.rawValue) is not allowed here: PATCH or DELETE /admin/keys/{name}, POST /admin/keys/{name}/rotate")
        }
    }

    /// `?key=&model=&status=&limit=` of `GET /admin/requests`, checked.
    static func recentRequests(_ query: [String: String]) throws -> RecentRequestsQuery {
        var recent = RecentRequestsQuery(key: query["key"].flatMap { $0.isEmpty ? nil : $0 },
                                         model: query["model"].flatMap { $0.isEmpty ? nil : $0 })
        if let text = query["status"], !text.isEmpty {
            guard let statuses = RecentRequestsQuery.statuses(text) else {
                throw GatewayError.badRequest("status must be a code such as 429 or a class such as 4xx", code: "invalid_status")
            }
            recent.statuses = statuses
        }
        if let text = query["limit"] {
            guard let limit = Int(text), (1...100).contains(limit) else {
                throw GatewayError.badRequest("limit must be from 1 to 100", code: "invalid_limit")
            }
            recent.limit = limit
        }
        return recent
    }

    /// Every plugin file and template the gateway looked at: loaded (with what it serves) or refused (why).
    static func plugins(_ gateway: Gateway) -> JSONValue {
        let plugins = gateway.registry.reports.map { report -> JSONValue in
            switch report.status {
            case .loaded(let kind, let name, let version, let providers):
                .object(["path": .string(report.path), "status": .string("loaded"), "kind": .string(kind.rawValue), "name": .string(name),
                         "version": .string(version), "providers": .array(providers.map(JSONValue.string)),
                         "loaded_at": .string(PluginReport.time(report.at))])
            case .refused(let reason):
                .object(["path": .string(report.path), "status": .string("refused"), "reason": .string(reason),
                         "refused_at": .string(PluginReport.time(report.at))])
            }
        }
        let templates = gateway.templates.reports.map { report -> JSONValue in
            switch report.status {
            case .loaded(let provider, let name):
                .object(["source": .string(report.source), "status": .string("loaded"), "provider": .string(provider), "name": .string(name)])
            case .refused(let reason):
                .object(["source": .string(report.source), "status": .string("refused"), "reason": .string(reason)])
            }
        }
        return .object(["plugins": .array(plugins), "templates": .array(templates)])
    }

    /// Runs `work` off the loop and writes its JSON (or its error) back on the loop.
    func answer(status: Int = 200, _ work: @escaping @Sendable () async throws -> JSONValue) {
        guard let loop = handler.eventLoop else { return }
        let handler = self.handler
        let promise = loop.makePromise(of: JSONValue.self)
        promise.completeWithTask(work)
        promise.futureResult.whenComplete { result in
            switch result {
            case .success(let body):
                handler.writeJSON(status: status, body: body.serialized())
                handler.requestEnded(status: status)
            case .failure(let error):
                let failure = error as? GatewayError ?? (error as? KeyIssuer.Failure).map(AdminKeys.gatewayError)
                    ?? .badRequest("\(error)", code: "admin_failed")
                handler.writeError(failure)
                handler.requestEnded(status: failure.status)
            }
        }
    }
}

/// What the admin routes reach: storage, prices and the admin key's digest.
struct AdminContext: Sendable {
    var keyDigest: KeyDigest
    var storage: any Storage
    var prices: PriceService
    var keys: KeyRegistry
    /// The gateway, for applying managed objects (set once it exists).
    var link: GatewayLink
    /// Whether `/metrics` needs the admin key (`admin.metrics_auth`).
    var metricsAuth = AdminSettings.MetricsAuth.none
    /// Seals credentials before they are stored (nil: PostgreSQL without TOLLGATE_SECRET_KEY).
    var sealer: SecretSealer?
    let throttle = AdminThrottle()
}
