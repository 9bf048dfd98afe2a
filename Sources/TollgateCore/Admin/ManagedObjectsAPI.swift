import NIOCore
import NIOHTTP1

/// `/admin/channels`, `/admin/templates`, `/admin/prices`, `/admin/exchange-rates`: list (GET on
/// the collection), read, put and delete one object by name. A put is validated as the config
/// file would be, stored, and applied to this instance at once; other instances apply it on
/// their next storage refresh.
struct ManagedObjectsAPI {
    let api: AdminAPI
    let admin: AdminContext

    struct Route {
        var kind: StoredObject.Kind
        var name: String?

        static let collections: [(String, StoredObject.Kind)] = [
            ("/admin/channels", .channel), ("/admin/templates", .template), ("/admin/prices", .price),
            ("/admin/exchange-rates", .exchangeRate),
        ]

        init?(path: Substring) {
            guard path != "/admin/prices/sync",
                  let (prefix, kind) = Self.collections.first(where: { path == $0.0 || path.hasPrefix($0.0 + "/") }) else { return nil }
            self.kind = kind
            let rest = path.dropFirst(prefix.count).drop { $0 == "/" }
            name = rest.isEmpty ? nil : (String(rest).removingPercentEncoding ?? String(rest))
        }
    }

    func serve(head: RequestHead, body: ByteBuffer, route: Route) throws {
        let storage = admin.storage, link = admin.link, kind = route.kind
        switch (head.method, route.name) {
        case (.GET, nil):
            // Config-file channels come first in `allChannelConfigs`, with their rotation applied.
            let configChannels = kind == .channel ? (link.gateway.map { Array($0.allChannelConfigs.prefix($0.config.channels.count)) } ?? []) : []
            let configNames = Set(configChannels.map(\.name))
            api.answer {
                let stored = try await storage.objects(kind: kind).filter { !configNames.contains($0.name) }.map { Self.describe($0) }
                let fromConfig = configChannels.map { Self.describe($0, source: "config") }
                return .object(["data": .array(fromConfig + stored)])
            }
        case (.GET, let name?):
            api.answer {
                guard let object = try await storage.objects(kind: kind).first(where: { $0.name == name }) else {
                    throw GatewayError.notFound("no stored \(kind.rawValue) '\(name)'")
                }
                return Self.describe(object)
            }
        case (.PUT, let name?) where kind == .channel && ManagedObjects.rotationOnly(Array(buffer: body)) != nil:
            let enabled = ManagedObjects.rotationOnly(Array(buffer: body)) ?? true
            api.answer { try await Self.setRotation(of: name, enabled: enabled, storage: storage, link: link) }
        case (.PUT, let name?):
            let given = Array(buffer: body)
            try validate(kind: kind, name: name, body: given)
            let bytes = kind == .channel ? try ManagedObjects.sealCredentials(given, sealer: admin.sealer) : given
            api.answer {
                try await storage.putObject(StoredObject(kind: kind, name: name, body: bytes, updatedAt: unixMillis()))
                try await link.gateway?.applyManagedObjects()
                return .object(["stored": .string(name), "kind": .string(kind.rawValue)])
            }
        case (.DELETE, let name?):
            api.answer {
                guard try await storage.deleteObject(kind: kind, name: name) else {
                    throw GatewayError.notFound("no stored \(kind.rawValue) '\(name)'")
                }
                try await link.gateway?.applyManagedObjects()
                return .object(["deleted": .string(name), "kind": .string(kind.rawValue)])
            }
        default:
            throw GatewayError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                               message: "\(head.method.rawValue) is not allowed here: GET the collection; GET, PUT or DELETE /\(kind.rawValue)s/{name}")
        }
    }

    /// `{"enabled": false|true}`: takes a channel out of rotation or back in, keeping the rest of
    /// it (a config-file channel's rotation is stored on its own, by the channel's name).
    static func setRotation(of name: String, enabled: Bool, storage: any Storage, link: GatewayLink) async throws -> JSONValue {
        let body: [UInt8]
        if link.gateway?.config.channels.contains(where: { $0.name == name }) == true {
            body = Array(JSONValue.object(["enabled": .bool(enabled)]).jsonString.utf8)
        } else {
            guard let stored = try await storage.objects(kind: .channel).first(where: { $0.name == name }),
                  let changed = ManagedObjects.setting(enabled: enabled, in: stored.body) else {
                throw GatewayError.notFound("no channel '\(name)': to add one, PUT its whole settings", code: "channel_not_found")
            }
            body = changed
        }
        try await storage.putObject(StoredObject(kind: .channel, name: name, body: body, updatedAt: unixMillis()))
        try await link.gateway?.applyManagedObjects()
        return .object(["stored": .string(name), "kind": .string("channel"), "enabled": .bool(enabled)])
    }

    /// Refuses what the running gateway could not use, naming the field.
    func validate(kind: StoredObject.Kind, name: String, body: [UInt8]) throws {
        switch kind {
        case .channel:
            let channel = try ManagedObjects.channel(named: name, body: body)
            if let defined = admin.link.gateway?.config.channels.first(where: { $0.name == name }) {
                throw GatewayError(status: 409, type: "invalid_request_error", code: "defined_in_config",
                                   message: "channel '\(name)' is defined in the config file (\(defined.source?.description ?? "channels")); "
                                       + "change it there. Here only {\"enabled\": false} or {\"enabled\": true} can be set, "
                                       + "to take it out of or back into rotation")
            }
            if let gateway = admin.link.gateway, let problem = Gateway.providerProblem(channel, registry: gateway.registry,
                                                                                        pluginsDirectory: gateway.config.pluginsDirectory,
                                                                                        templates: gateway.templates) {
                throw GatewayError.badRequest(problem, code: "invalid_channel")
            }
        case .template:
            _ = try Self.template(named: name, body: body)
        case .price:
            if let problem = admin.prices.problem(with: body) {
                throw GatewayError.badRequest("\(name): \(problem)", code: "invalid_price")
            }
        case .exchangeRate:
            _ = try Self.exchangeRate(named: name, body: body)
        }
    }

    /// A submitted template, checked as a template file would be; it must serve the provider its URL names.
    static func template(named name: String, body: [UInt8]) throws -> AdaptorTemplate {
        let template: AdaptorTemplate
        do { template = try AdaptorTemplate.parse(body, source: "admin") } catch {
            throw GatewayError.badRequest("\(error)", code: "invalid_template")
        }
        guard template.provider == name else {
            throw GatewayError.badRequest("the template's provider is '\(template.provider)' but the URL names '\(name)'",
                                          code: "invalid_template")
        }
        return template
    }

    /// A stored or submitted exchange rate: `{"rate": <units of name per 1 USD>}` under an ISO
    /// 4217 code, in nano-units.
    static func exchangeRate(named name: String, body: [UInt8]) throws -> Int64 {
        guard name.count == 3, name.allSatisfy({ $0.isASCII && $0.isUppercase }), let json = try? JSONParser.parse(body),
              case .number(let text)? = json["rate"], let nano = Money.parseNano(text), nano > 0 else {
            throw GatewayError.badRequest("an exchange rate is {\"rate\": <units of \(name) per 1 USD>} under an ISO 4217 code",
                                          code: "invalid_exchange_rate")
        }
        return nano
    }

    /// A stored object as the API shows it: its JSON with secrets masked.
    static func describe(_ object: StoredObject) -> JSONValue {
        var body = (try? JSONParser.parse(object.body)) ?? .null
        // Every secret masked: a channel's credentials and a template's extra headers.
        let secret = object.kind == .channel ? "credentials" : object.kind == .template ? "headers" : nil
        if let secret, case .object(var members) = body {
            members = members.map { $0.key == secret ? .init(secret, masked($0.value)) : $0 }
            body = .object(members)
        }
        return .object(["name": .string(object.name), "kind": .string(object.kind.rawValue), "source": .string("admin"),
                        "updated_at_ms": .int(object.updatedAt), "body": body])
    }

    static func describe(_ channel: ChannelConfig, source: String) -> JSONValue {
        .object(["name": .string(channel.name), "kind": .string("channel"), "source": .string(source),
                 "body": .object(["provider": .string(channel.provider), "models": .array(channel.models.map(JSONValue.string)),
                                  "weight": .int(channel.weight), "priority": .int(channel.priority), "enabled": .bool(channel.enabled)])])
    }

    static func masked(_ credentials: JSONValue) -> JSONValue {
        .object((credentials.objectValue ?? []).map { .init($0.key, .string("****")) })
    }
}
