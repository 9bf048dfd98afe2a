import Foundation
import Synchronization

/// Channels, templates, price entries and exchange rates managed through the admin API: stored
/// in the database (so a restart and every instance see them) and applied to the running
/// gateway, which swaps its routes, templates, prices or rates without dropping requests.
final class ManagedObjects: Sendable {
    /// Opens the sealed credentials of stored channels.
    let sealer: SecretSealer?
    /// Stored channels in force (config channels are separate and cannot be changed here).
    let channels = Mutex<[ChannelConfig]>([])
    /// Config-file channels put in or out of rotation through the admin API, by name.
    let rotation = Mutex<[String: Bool]>([:])
    private let applied = Mutex<[StoredObject.Kind: [StoredObject]]>([:])
    /// One apply at a time: each reads storage and applies what it read, so an older read can
    /// never undo a newer one.
    let applying = AsyncGate()

    init(sealer: SecretSealer?) { self.sealer = sealer }

    /// Turns a stored or submitted channel body (the YAML config's channel fields, as JSON) into a
    /// checked channel config; the message names the field.
    static func channel(named name: String, body: [UInt8], sealer: SecretSealer? = nil) throws -> ChannelConfig {
        guard let json = try? JSONParser.parse(body), case .object = json else {
            throw GatewayError.badRequest("a channel is a JSON object with the config file's channel fields", code: "invalid_channel")
        }
        if let given = json["name"]?.stringValue, given != name {
            throw GatewayError.badRequest("the body names channel '\(given)' but the URL names '\(name)'", code: "invalid_channel")
        }
        var members = json.objectValue ?? []
        members.removeAll { $0.key == "name" }
        members.insert(.init("name", .string(name)), at: 0)
        if let index = members.firstIndex(where: { $0.key == "credentials" }) {
            members[index].value = try openCredentials(inlineCredentials(members[index].value), sealer: sealer)
        }
        do {
            // JSON is YAML: the config loader checks it exactly like a channel in the file, but
            // as data: no `${...}` is looked up in the environment.
            let config = try ConfigLoader.parse("channels:\n  - " + JSONValue.object(members).jsonString, file: "admin", environment: nil)
            guard let channel = config.channels.first else { throw GatewayError.badRequest("no channel in the body", code: "invalid_channel") }
            return channel
        } catch let error as ConfigError {
            throw GatewayError.badRequest("\(error.key): \(error.message)", code: "invalid_channel")
        }
    }

    /// Credentials from the admin API are given inline: a name ending in `_file` would make the
    /// gateway read a path on its host (and send what it read upstream), so it is refused.
    /// `service_account` (the key's JSON, as an object or as text) becomes the Vertex plugin's
    /// `service_account_json`.
    static func inlineCredentials(_ credentials: JSONValue) throws -> JSONValue {
        guard let members = credentials.objectValue else {
            throw GatewayError.badRequest("credentials: must be an object of names to values", code: "invalid_channel")
        }
        return .object(try members.map { member in
            if member.key.hasSuffix("_file") {
                throw GatewayError.badRequest("credentials.\(member.key): the admin API takes credentials inline, never a path on the "
                                              + "gateway's host (for Vertex: credentials.service_account with the key's JSON)",
                                              code: "invalid_channel")
            }
            guard member.key == "service_account" else { return member }
            switch member.value {
            case .object: return .init("service_account_json", .string(member.value.jsonString))
            case .string: return .init("service_account_json", member.value)
            default:
                throw GatewayError.badRequest("credentials.service_account: must be the service account key (a JSON object)",
                                              code: "invalid_channel")
            }
        })
    }

    /// A channel body as it is stored: every credential value sealed (an object, such as a service
    /// account, as its JSON text). Without a sealer (PostgreSQL without TOLLGATE_SECRET_KEY) a body
    /// with credentials is refused rather than stored in clear.
    static func sealCredentials(_ body: [UInt8], sealer: SecretSealer?) throws -> [UInt8] {
        guard let json = try? JSONParser.parse(body), var members = json.objectValue,
              let index = members.firstIndex(where: { $0.key == "credentials" }),
              let credentials = members[index].value.objectValue, !credentials.isEmpty else { return body }
        guard let sealer else {
            throw GatewayError(status: 409, type: "invalid_request_error", code: "secret_key_required",
                               message: "credentials are stored sealed; on PostgreSQL that needs TOLLGATE_SECRET_KEY (the same "
                                   + "32-byte key on every instance, e.g. `openssl rand -hex 32`): the channel was not stored")
        }
        do {
            members[index].value = .object(try credentials.map { member in
                .init(member.key, .string(try sealer.seal(member.value.stringValue ?? member.value.jsonString)))
            })
        } catch {
            throw GatewayError.internalError("credentials could not be sealed: \(error)")
        }
        return JSONValue.object(members).serialized()
    }

    /// Stored credentials opened for use; a value that does not open (another key, altered) refuses the channel.
    static func openCredentials(_ credentials: JSONValue, sealer: SecretSealer?) throws -> JSONValue {
        guard let members = credentials.objectValue else { return credentials }
        return .object(try members.map { member in
            guard let text = member.value.stringValue, SecretSealer.isSealed(text) else { return member }
            guard let sealer else {
                throw GatewayError.badRequest("credentials.\(member.key) is sealed and TOLLGATE_SECRET_KEY is not set", code: "invalid_channel")
            }
            do { return .init(member.key, .string(try sealer.open(text))) } catch {
                throw GatewayError.badRequest("credentials.\(member.key): \(error)", code: "invalid_channel")
            }
        })
    }

    /// `{"enabled": true|false}` and nothing else: a change of rotation, not a whole channel.
    static func rotationOnly(_ body: [UInt8]) -> Bool? {
        guard let members = (try? JSONParser.parse(body))?.objectValue, members.count == 1, members[0].key == "enabled" else { return nil }
        return members[0].value.boolValue
    }

    /// A stored channel body with its `enabled` member set (the rest as it was).
    static func setting(enabled: Bool, in body: [UInt8]) -> [UInt8]? {
        guard var members = (try? JSONParser.parse(body))?.objectValue else { return nil }
        members.removeAll { $0.key == "enabled" }
        members.append(.init("enabled", .bool(enabled)))
        return Array(JSONValue.object(members).jsonString.utf8)
    }

    /// The objects of `kind` last applied, to tell what changed.
    func changed(_ kind: StoredObject.Kind, now objects: [StoredObject]) -> Bool {
        applied.withLock { applied in
            defer { applied[kind] = objects }
            return applied[kind] != objects
        }
    }
}

extension Gateway {
    /// Every channel in force: the config file's (with rotation set through the admin API), then
    /// the stored ones.
    var allChannelConfigs: [ChannelConfig] {
        let rotation = managed.rotation.withLock { $0 }
        return configChannels.withLock { $0 }.map { channel in
            var channel = channel
            if let enabled = rotation[channel.name] { channel.enabled = enabled }
            return channel
        } + managed.channels.withLock { $0 }
    }

    /// Reads every managed object from storage and applies what changed.
    func applyManagedObjects() async throws {
        await managed.applying.enter()
        do {
            try await applyManagedObjectsNow()
            await managed.applying.leave()
        } catch {
            await managed.applying.leave()
            throw error
        }
    }

    private func applyManagedObjectsNow() async throws {
        for kind in StoredObject.Kind.allCases {
            let objects = try await storage.objects(kind: kind)
            guard managed.changed(kind, now: objects) else { continue }
            switch kind {
            case .channel: applyChannels(objects)
            case .template: applyTemplates(objects)
            case .price: prices.setAdminEntries(Dictionary(objects.map { ($0.name, $0.body) }, uniquingKeysWith: { _, last in last }))
            case .exchangeRate: applyRates(objects)
            }
        }
    }

    private func applyChannels(_ objects: [StoredObject]) {
        var configs: [ChannelConfig] = []
        var rotation: [String: Bool] = [:]
        let configNames = Set(config.channels.map(\.name))
        for object in objects {
            if configNames.contains(object.name) {  // only the rotation of a config-file channel is stored
                if let enabled = ManagedObjects.rotationOnly(object.body) { rotation[object.name] = enabled }
                continue
            }
            do { configs.append(try ManagedObjects.channel(named: object.name, body: object.body, sealer: managed.sealer)) } catch {
                runtime.logger.error("stored channel refused", metadata: ["channel": .string(object.name), "error": "\(error)"])
            }
        }
        managed.channels.withLock { $0 = configs }
        managed.rotation.withLock { $0 = rotation }
        rebuildRoutes()
    }

    /// Builds the routes from every channel in force, keeping the runtime form of channels whose
    /// settings did not change (their connections and state carry on).
    func rebuildRoutes() {
        routeEdits.withLock { _ in runtime.replaceRouter(routes()) }
    }

    /// The routes of every channel in force (call under `routeEdits`).
    func routes() -> ModelRouter {
        let current = Dictionary(runtime.snapshot.router.channels.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var channels: [RuntimeChannel] = []
        let configs = allChannelConfigs
        for config in configs {
            if let kept = current[config.name], kept.config.settingsJSON == config.settingsJSON,
               kept.config.models == config.models, kept.config.modelMap == config.modelMap,
               kept.config.weight == config.weight, kept.config.priority == config.priority, kept.config.region == config.region {
                channels.append(kept)
                continue
            }
            if let problem = Self.providerProblem(config, registry: registry, pluginsDirectory: self.config.pluginsDirectory,
                                                  templates: templates) {
                runtime.logger.warning("channel waits for its provider", metadata: ["channel": .string(config.name), "reason": .string(problem)])
                continue
            }
            do { channels.append(try RuntimeChannel.make(config, factory: factory, health: runtime.health.health(for: config.name))) } catch {
                runtime.logger.error("channel out of service", metadata: ["channel": .string(config.name), "error": .string("\(error)")])
            }
        }
        return ModelRouter(channels: channels, outOfRotation: Set(configs.filter { !$0.enabled }.map(\.name)))
    }

    private func applyTemplates(_ objects: [StoredObject]) {
        let stored = Set(objects.map(\.name))
        for provider in templates.installedProviders where !stored.contains(provider) { _ = templates.uninstall(provider: provider) }
        for object in objects {
            do { _ = try templates.install(templateJSON: object.body, source: "admin:\(object.name)") } catch {
                runtime.logger.error("stored template refused", metadata: ["provider": .string(object.name), "error": "\(error)"])
            }
        }
    }

    private func applyRates(_ objects: [StoredObject]) {
        runtime.rates.replaceStored(objects.compactMap { object in
            (try? ManagedObjectsAPI.exchangeRate(named: object.name, body: object.body)).map { (object.name, $0, object.updatedAt / 1000) }
        })
    }
}

/// Lets the admin routes reach the gateway that owns them without a reference cycle.
final class GatewayLink: Sendable {
    private struct Weak { weak var gateway: Gateway? }
    private let box = Mutex(Weak())
    var gateway: Gateway? {
        get { box.withLock { $0.gateway } }
        set { box.withLock { $0.gateway = newValue } }
    }
}
