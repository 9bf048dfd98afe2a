import Foundation

/// What the gateway does with health's findings: deprecation notices propose (or, when allowed,
/// switch to) a channel's successor model or API version, kept in storage once applied; and key polling.
extension Gateway {
    /// Replays stored replacements into the channels' health before the channels are built.
    static func applyOverrides(_ overrides: [ChannelOverride], to health: HealthTracker) async throws {
        for override in overrides {
            _ = health.health(for: override.channel).apply(override)
        }
    }

    /// An upstream said, in its own structured words, that `model` (or the API version) is
    /// retired. A named successor is proposed to operators (`POST /admin/channels/{name}/accept-successor`
    /// applies it); with `health.auto_switch` it is applied at once when the channel lists it or
    /// the price book knows it. Operators hear of it either way.
    func deprecationFound(_ channel: ChannelHealth, model: String, _ notice: DeprecationNotice) {
        var metadata = ["channel": channel.name, "model": model]
        var outcome = "; no replacement named"
        if let successor = Self.successor(notice, channel: channel.name, model: model) {
            let key = successor.kind == .model ? "replacement_model" : "replacement_api_version"
            metadata[key] = successor.value
            if runtime.health.settings.autoSwitch && isKnownSuccessor(successor) {
                guard applySuccessor(successor) else { return }  // already switched
                metadata["applied"] = "true"
                outcome = "; switched to '\(successor.value)'"
            } else {
                guard channel.propose(successor) else { return }  // already proposed
                metadata["applied"] = "false"
                outcome = "; '\(successor.value)' is proposed: POST /admin/channels/\(channel.name)/accept-successor applies it"
            }
        }
        notifier.notify(NotificationEvent(type: "api_version_deprecated", priority: .high,
                                          title: "Channel \(channel.name): '\(model)' is deprecated",
                                          message: notice.message + outcome, metadata: metadata))
    }

    private static func successor(_ notice: DeprecationNotice, channel: String, model: String) -> ChannelOverride? {
        let now = unixSeconds()
        switch notice.replacement {
        case .model(let name)?:
            return ChannelOverride(channel: channel, kind: .model, model: model, value: name, reason: notice.message, createdAt: now)
        case .apiVersion(let version)?:
            return ChannelOverride(channel: channel, kind: .apiVersion, model: "", value: version, reason: notice.message, createdAt: now)
        case nil:
            return nil
        }
    }

    /// A model successor the channel names or the price book prices; an API version shaped
    /// like one (`2024-10-21`, `2025-01-01-preview`).
    func isKnownSuccessor(_ successor: ChannelOverride) -> Bool {
        switch successor.kind {
        case .model:
            guard let channel = runtime.snapshot.router.channels.first(where: { $0.name == successor.channel }) else { return false }
            return channel.configuredUpstreamModels.contains(successor.value)
                || prices.book.find(model: successor.value, prefixes: channel.pricePrefixes) != nil
        case .apiVersion:
            let parts = successor.value.split(separator: "-", maxSplits: 3)
            return parts.count >= 3 && parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 2
                && parts.prefix(3).allSatisfy { $0.allSatisfy(\.isNumber) } && (parts.count == 3 || parts[3] == "preview")
        }
    }

    /// Puts a successor in force, keeps it in storage (a restart keeps it) and rebuilds the
    /// channel when its API version changed. False when it was in force already.
    @discardableResult
    func applySuccessor(_ successor: ChannelOverride) -> Bool {
        guard runtime.health.health(for: successor.channel).apply(successor) else { return false }
        if successor.kind == .apiVersion { rebuildChannel(named: successor.channel) }
        let storage = self.storage
        let logger = runtime.logger
        Task {
            do { try await storage.saveChannelOverride(successor) } catch {
                logger.error("could not store a deprecation switch", metadata: ["channel": .string(successor.channel), "error": .string("\(error)")])
            }
        }
        return true
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
