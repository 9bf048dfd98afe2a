import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The state every connection shares. Keys and routes are an immutable snapshot swapped whole on
/// change, so the hot path takes one short lock to read them and never touches the database.
public final class GatewayRuntime: Sendable {
    public struct Snapshot: Sendable {
        public var keys: KeyStore
        public var router: ModelRouter
        /// Models tried when every channel of a model failed (`fallbacks:`).
        public var fallbacks: [String: [String]] = [:]
        /// Models tried when the upstream says a prompt exceeds the model's context window.
        public var contextWindowFallbacks: [String: [String]] = [:]
    }

    public let limits: RequestLimits
    public let upstreamSettings: UpstreamSettings
    public let logger: Logger
    let pools: UpstreamPool
    /// Open client connections, capped in total and per address.
    let connections: ConnectionLimiter
    /// Per event loop: client connections slow to send a request are closed (`limits.requestTimeout`).
    private let clientSweeps: [ObjectIdentifier: ClientSweep]
    let blockingPool: NIOThreadPool
    /// Every finished request goes to each: the usage ledger first, then observers (tests, metrics).
    let recorders: [any RequestRecorder]
    let biller: Biller
    let budgets: BudgetTracker
    public let metrics: GatewayMetrics
    /// Exchange rates in force (config, then admin-set).
    public let rates: RateBook
    /// Nil when no admin key is configured (the admin API is then off).
    let admin: AdminContext?
    /// Every channel's breakers, states and adaptive limits.
    public let health: HealthTracker
    let routing: RoutingSettings
    /// Converted Responses API answers kept in storage (nil when the storage cannot keep them).
    let responses: ResponseKeeper?
    /// Nil when tracing is off: requests then make no span.
    let tracing: RequestTracing?
    private let state: Mutex<Snapshot>
    private let requestPrefix = UInt32.random(in: 0...UInt32.max)
    private let requestCounter = Atomic<UInt64>(0)
    private let active = Atomic<Int>(0)
    private let hangUps = Atomic<UInt64>(0)

    init(limits: RequestLimits, upstream: UpstreamSettings, snapshot: Snapshot, group: MultiThreadedEventLoopGroup,
         blockingPool: NIOThreadPool, recorders: [any RequestRecorder], metrics: GatewayMetrics, rates: RateBook, biller: Biller,
         budgets: BudgetTracker, admin: AdminContext?, health: HealthTracker, routing: RoutingSettings, logger: Logger,
         responses: ResponseKeeper? = nil, tracing: RequestTracing? = nil) throws {
        self.limits = limits
        upstreamSettings = upstream
        self.logger = logger
        self.blockingPool = blockingPool
        self.recorders = recorders
        self.biller = biller
        self.budgets = budgets
        self.metrics = metrics
        self.rates = rates
        self.admin = admin
        self.health = health
        self.routing = routing
        self.responses = responses
        self.tracing = tracing
        pools = try UpstreamPool(group: group, settings: upstream)
        connections = ConnectionLimiter(maxTotal: limits.maxConnections, maxPerAddress: limits.maxConnectionsPerIP)
        var sweeps: [ObjectIdentifier: ClientSweep] = [:]
        for loop in group.makeIterator() {
            sweeps[ObjectIdentifier(loop)] = ClientSweep(loop: loop, timeout: TimeAmount(limits.requestTimeout),
                                                         keepAlive: TimeAmount(limits.keepAliveTimeout))
        }
        clientSweeps = sweeps
        state = Mutex(snapshot)
    }

    func clientSweep(for loop: EventLoop) -> ClientSweep? { clientSweeps[ObjectIdentifier(loop)] }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Model and admin requests being served now (graceful shutdown waits for them).
    public var inFlight: Int { active.load(ordering: .relaxed) }
    func requestStarted() { active.add(1, ordering: .relaxed) }
    func requestFinished() { active.subtract(1, ordering: .relaxed) }

    /// Clients that hung up while their request was being served.
    public var clientHangUps: UInt64 { hangUps.load(ordering: .relaxed) }
    func clientHungUp() { hangUps.add(1, ordering: .relaxed) }

    /// Swaps the keys (created or revoked elsewhere); requests in flight keep their verdict.
    func replaceKeys(_ keys: KeyStore) { state.withLock { $0.keys = keys } }

    /// Swaps the routes; requests in flight keep the channels they picked.
    func replaceRouter(_ router: ModelRouter) { state.withLock { $0.router = router } }

    /// Swaps keys and routes in one step (a config reload): a request sees both old or both new.
    func replace(keys: [ClientKey], router: ModelRouter, config: GatewayConfig) {
        state.withLock { state in
            state.keys = KeyStore(keys, reusing: state.keys)
            state.router = router
            state.fallbacks = config.fallbacks
            state.contextWindowFallbacks = config.contextWindowFallbacks
        }
    }

    /// Swaps the keys (limit counters carry over by key name).
    func replaceKeys(_ keys: [ClientKey]) {
        state.withLock { $0.keys = KeyStore(keys, reusing: $0.keys) }
    }

    /// A request id unique within this process and, by its random prefix, across instances.
    func nextRequestID() -> String {
        Self.requestID(prefix: requestPrefix, counter: requestCounter.wrappingAdd(1, ordering: .relaxed).newValue)
    }

    /// `req_`, the prefix in six base-62 digits, the counter in at least five: 15 bytes, which
    /// Swift keeps inline (no allocation), for the first 916 million requests of a process; longer
    /// (and still unique: the prefix is fixed-width) after.
    static func requestID(prefix: UInt32, counter: UInt64) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4 + 6 + 11) { out in
            var at = 0
            for byte in "req_".utf8 { out[at] = byte; at += 1 }
            writeBase62(UInt64(prefix), atLeast: 6, into: out, at: &at)
            writeBase62(counter, atLeast: 5, into: out, at: &at)
            return String(decoding: UnsafeBufferPointer(rebasing: out[..<at]), as: UTF8.self)
        }
    }

    /// `value` in base 62, zero-padded to `width`. A function, not a closure over `at`: a
    /// captured variable costs an exclusivity check every access.
    private static func writeBase62(_ value: UInt64, atLeast width: Int, into out: UnsafeMutableBufferPointer<UInt8>, at: inout Int) {
        var value = value
        let start = at
        repeat {
            out[at] = base62[Int(value % 62)]
            value /= 62
            at += 1
        } while value > 0 || at - start < width
        out[start..<at].reverse()
    }

    private static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
}
