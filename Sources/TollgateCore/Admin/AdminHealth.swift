import NIOCore

/// `GET /admin/health`: every channel of the routes in force, each with its breaker, balance and
/// last error, and each model (configured or seen) with its state, breaker, adaptive limit,
/// score and last error.
enum AdminHealth {
    static func report(runtime: GatewayRuntime) -> JSONValue {
        let now = NIODeadline.now()
        let router = runtime.snapshot.router
        let channels = router.channels.map { channel -> JSONValue in
            guard var members = channel.health.report(configured: channel.configuredUpstreamModels, now: now).objectValue else {
                return .null
            }
            members.insert(contentsOf: [.init("provider", .string(channel.config.provider)), .init("priority", .int(channel.config.priority)),
                                        .init("weight", .int(channel.config.weight)),
                                        .init("enabled", .bool(!router.outOfRotation.contains(channel.name)))], at: 1)
            return .object(members)
        }
        return .object(["channels": .array(channels)])
    }
}
