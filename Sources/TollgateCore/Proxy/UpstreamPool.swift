import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Idle upstream connections of one event loop, keyed by endpoint. Touched only on its loop, so it
/// needs no lock: a request served on loop L is proxied over a connection that also lives on L.
final class LoopPool: @unchecked Sendable {
    let loop: EventLoop
    private let settings: UpstreamSettings
    private let tls: NIOSSLContext?
    private var idle: [UpstreamEndpoint: IdleList] = [:]
    /// The list used last, so a request's take and release do not hash its endpoint's host twice
    /// (about 450 instructions each); forgotten when that list is dropped.
    private var recent: (endpoint: UpstreamEndpoint, list: IdleList)?
    /// Exchanges in flight on this loop, whose deadlines the sweep checks.
    private var watched: [ObjectIdentifier: ProxyExchange] = [:]
    static let maxIdlePerEndpoint = 128
    /// How often deadlines are checked: timeouts fire up to this much late.
    static let sweepInterval = TimeAmount.milliseconds(100)

    init(loop: EventLoop, settings: UpstreamSettings, tls: NIOSSLContext?) {
        self.loop = loop
        self.settings = settings
        self.tls = tls
        loop.scheduleRepeatedTask(initialDelay: .seconds(5), delay: .seconds(5)) { [weak self] _ in self?.closeIdle() }
        loop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) { [weak self] _ in self?.checkDeadlines() }
    }

    /// One endpoint's idle connections. A class, so a list is changed where it is: changing a
    /// dictionary's value through its subscript cost three allocations a request (the accessors'
    /// coroutine frames).
    private final class IdleList {
        var connections: [UpstreamConnection] = []
    }

    /// An open idle connection to `endpoint`, if there is one.
    func takeIdle(_ endpoint: UpstreamEndpoint) -> UpstreamConnection? {
        guard let list = list(for: endpoint, creating: false) else { return nil }
        while let connection = list.connections.popLast() {
            if connection.isActive { return connection }
        }
        return nil
    }

    /// The upstream connections of the exchanges in flight on this loop (for tests).
    var connectionsInFlight: [UpstreamConnection] { watched.values.compactMap(\.connection) }

    func watch(_ exchange: ProxyExchange) { watched[ObjectIdentifier(exchange)] = exchange }
    func unwatch(_ exchange: ProxyExchange) { watched[ObjectIdentifier(exchange)] = nil }

    private func checkDeadlines() {
        guard !watched.isEmpty else { return }
        let now = NIODeadline.now()
        for exchange in watched.values where exchange.deadline <= now { exchange.deadlinePassed() }
    }

    func connect(_ endpoint: UpstreamEndpoint) -> EventLoopFuture<UpstreamConnection> {
        let connection = UpstreamConnection(endpoint: endpoint, pool: self)
        let tls = endpoint.tls ? self.tls : nil
        return ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(settings.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls {
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: endpoint.host.isIPAddress ? nil : endpoint.host)
                        try sync.addHandler(handler)
                    }
                    try sync.addHandler(connection)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .map { _ in connection }
    }

    func release(_ connection: UpstreamConnection) {
        let list = list(for: connection.endpoint, creating: true)!
        guard list.connections.count < Self.maxIdlePerEndpoint else { connection.abandon(); return }
        connection.idleSince = .now()
        list.connections.append(connection)
    }

    func remove(_ connection: UpstreamConnection) {
        guard let list = list(for: connection.endpoint, creating: false) else { return }
        list.connections.removeAll { $0 === connection }
    }

    private func list(for endpoint: UpstreamEndpoint, creating: Bool) -> IdleList? {
        if let recent, recent.endpoint == endpoint { return recent.list }
        var list = idle[endpoint]
        if list == nil, creating {
            list = IdleList()
            idle[endpoint] = list
        }
        if let list { recent = (endpoint, list) }
        return list
    }

    private func closeIdle() {
        let cutoff = NIODeadline.now() - TimeAmount(settings.idleTimeout)
        for (endpoint, list) in idle {
            let stale = list.connections.filter { $0.idleSince < cutoff }
            list.connections.removeAll { $0.idleSince < cutoff }
            if list.connections.isEmpty {
                idle[endpoint] = nil
                if recent?.list === list { recent = nil }
            }
            stale.forEach { $0.abandon() }
        }
    }
}

/// One `LoopPool` per event loop of the gateway's group.
final class UpstreamPool: Sendable {
    private let pools: [ObjectIdentifier: LoopPool]

    init(group: MultiThreadedEventLoopGroup, settings: UpstreamSettings) throws {
        let tls = try NIOSSLContext(configuration: .makeClientConfiguration())
        var pools: [ObjectIdentifier: LoopPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = LoopPool(loop: loop, settings: settings, tls: tls)
        }
        self.pools = pools
    }

    func pool(for loop: EventLoop) -> LoopPool? { pools[ObjectIdentifier(loop)] }
    var loopPools: [LoopPool] { Array(pools.values) }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

extension String {
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
