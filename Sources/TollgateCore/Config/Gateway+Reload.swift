import Foundation

/// What a config reload changed, and what it could not.
public struct ReloadOutcome: Sendable, Equatable {
    /// Top-level keys applied live.
    public var applied: [String]
    /// Top-level keys whose new values wait for a restart (the old ones stay in force).
    public var needsRestart: [String]

    var json: JSONValue {
        .object(["reloaded": .bool(true), "applied": .array(applied.map(JSONValue.string)),
                 "restart_required": .array(needsRestart.map(JSONValue.string))])
    }
}

/// Config reload (SIGHUP, `POST /admin/reload`): the file is read and checked whole before
/// anything changes; a broken file is refused with its `file:line:column: key: message` and the
/// running config stays. Keys (with their limits and budgets), channels, pricing, notifications
/// and templates then change live; keys and routes are swapped in one step, so a request sees
/// both old or both new, and requests in flight finish on what they started with.
extension Gateway {
    /// Settings read once at start: listener, storage, threads and pools, loops and files.
    static let restartOnly: [(key: String, value: @Sendable (GatewayConfig) -> String)] = [
        ("listen", { "\($0.listen)" }), ("storage", { $0.storageURL }), ("data_dir", { $0.dataDirectory }),
        ("admin_key", { $0.adminKey.map { KeyDigest(of: $0).hex } ?? "" }), ("threads", { "\(String(describing: $0.threads))" }),
        ("plugins", { "\(String(describing: $0.pluginsDirectory)) \($0.watchPlugins)" }),
        ("templates", { String(describing: $0.templatesDirectory) }), ("limits", { "\($0.limits)" }),
        ("upstream", { "\($0.upstream)" }), ("health", { "\($0.health)" }), ("routing", { "\($0.routing)" }),
        ("ledger", { "\($0.ledgerFlushInterval)" }), ("storage_refresh", { "\($0.sharedStateInterval)" }),
        ("request_log", { String(describing: $0.requestLog) }), ("shutdown_grace", { "\($0.shutdownGrace)" }),
        ("demo_key", { "\($0.demoKey)" }), ("admin", { "\($0.admin)" }), ("responses", { "\($0.responsesRetention)" }),
    ]

    /// Reads the config file again and applies it. Throws `ConfigError` (nothing changed).
    public func reload() async throws -> ReloadOutcome {
        await reloading.enter()
        do {
            let outcome = try await reloadNow()
            await reloading.leave()
            runtime.logger.notice("config reloaded", metadata: [
                "applied": .string(outcome.applied.joined(separator: ",")),
                "restart_required": .string(outcome.needsRestart.joined(separator: ","))])
            for key in outcome.needsRestart {
                runtime.logger.warning("config reload: '\(key)' changed; it takes effect at the next restart")
            }
            return outcome
        } catch {
            await reloading.leave()
            runtime.logger.error("config reload refused; the running config stays: \(error)")
            throw error
        }
    }

    private func reloadNow() async throws -> ReloadOutcome {
        guard let file = config.file else {
            throw ConfigError(file: "config", key: "", message: "the gateway runs on the embedded default: there is no file to reload")
        }
        let next = try ConfigLoader.load(file: file)
        let waits = next.templatesDirectory != nil || config.templatesDirectory != nil || config.watchPlugins
        for channel in next.channels {
            if let problem = Self.providerProblem(channel, registry: registry, pluginsDirectory: config.pluginsDirectory, templates: templates),
               !waits { throw channel.error(problem) }
        }
        // Checked; from here on nothing fails half way.
        notifier.update(next.notify)
        runtime.rates.replaceBase(next.pricing.exchangeRates)
        prices.update(next.pricing)
        if let directory = Self.templatesDirectory(config) { templates.reload(directory: directory) }
        keys.configKeys = next.keys
        try await keys.applyBudgets(to: runtime.budgets)  // the config's and the stored keys' budgets
        routeEdits.withLock { _ in
            configChannels.withLock { $0 = next.channels }
            runtime.replace(keys: keys.current(configKeys: next.keys), router: routes(), config: next)
        }
        let needsRestart = Self.restartOnly.filter { $0.value(config) != $0.value(next) }.map(\.key)
        return ReloadOutcome(applied: ["keys", "channels", "fallbacks", "pricing", "notify", "templates"], needsRestart: needsRestart)
    }
}
