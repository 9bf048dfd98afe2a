import Foundation

/// What the gateway does with health's findings: deprecation notices switch a channel's model
/// or API version (kept in storage, so a restart keeps them); and key polling.
extension Gateway {
    /// Replays stored replacements into the channels' health before the channels are built.
    static func applyOverrides(_ overrides: [ChannelOverride], to health: HealthTracker) async throws {
        for override in overrides {
            let channel = health.health(for: override.channel)
            switch override.kind {
            case .model: channel.setOverride(model: override.model, to: override.value)
            case .apiVersion: channel.apiVersionOverride = override.value
            }
        }
    }

    /// An upstream said `model` (or the API version) is deprecated. With a named successor the
    /// channel switches to it at once (a new API version rebuilds the channel), the switch is
    /// stored, and operators hear of it either way.
    func deprecationFound(_ channel: ChannelHealth, model: String, _ notice: DeprecationNotice) {
        var metadata = ["channel": channel.name, "model": model]
        var override: ChannelOverride?
        let now = unixSeconds()
        switch notice.replacement {
        case .model(let successor) where successor != model && channel.override(for: model) != successor:
            channel.setOverride(model: model, to: successor)
            metadata["replacement_model"] = successor
            override = ChannelOverride(channel: channel.name, kind: .model, model: model, value: successor, reason: notice.message, createdAt: now)
        case .apiVersion(let version) where channel.apiVersionOverride != version:
            channel.apiVersionOverride = version
            metadata["replacement_api_version"] = version
            override = ChannelOverride(channel: channel.name, kind: .apiVersion, model: "", value: version, reason: notice.message, createdAt: now)
            rebuildChannel(named: channel.name)
        case .model, .apiVersion:
            return  // already switched
        case nil:
            break
        }
        let switched = metadata["replacement_model"].map { "; now using model '\($0)'" }
            ?? metadata["replacement_api_version"].map { "; now using API version '\($0)'" } ?? "; no replacement named"
        notifier.notify(NotificationEvent(type: "api_version_deprecated", priority: .high,
                                          title: "Channel \(channel.name): '\(model)' is deprecated",
                                          message: notice.message + switched, metadata: metadata))
        guard let override else { return }
        let storage = self.storage
        let logger = runtime.logger
        Task {
            do { try await storage.saveChannelOverride(override) } catch {
                logger.error("could not store a deprecation switch", metadata: ["channel": .string(override.channel), "error": .string("\(error)")])
            }
        }
    }

    /// Rebuilds one channel (its API version changed); the others are kept as they are.
    func rebuildChannel(named name: String) {
        guard let config = config.channels.first(where: { $0.name == name }) else { return }
        let channels = runtime.snapshot.router.channels
        guard let index = channels.firstIndex(where: { $0.name == name }) else { return }
        do {
            var rebuilt = channels
            rebuilt[index] = try RuntimeChannel.make(config, factory: factory, health: runtime.health.health(for: name))
            runtime.replaceRouter(ModelRouter(channels: rebuilt, outOfRotation: runtime.snapshot.router.outOfRotation))
        } catch {
            runtime.logger.error("channel cannot switch API version", metadata: ["channel": .string(name), "error": .string("\(error)")])
        }
    }

    /// Picks up keys another process stored (`tollgate keys create`), every 2 s.
    func startKeyPolling(every interval: Duration = .seconds(2)) {
        let keys = self.keys
        let runtime = self.runtime
        let task = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled else { return }
                do { try await keys.refresh(into: runtime) } catch {
                    runtime.logger.warning("could not refresh keys from storage", metadata: ["error": .string("\(error)")])
                }
            }
        }
        setKeyPoller(task)
    }
}
