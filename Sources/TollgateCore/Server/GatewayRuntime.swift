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
    }

    public let limits: RequestLimits
    public let upstreamSettings: UpstreamSettings
    public let logger: Logger
    let pools: UpstreamPool
    let blockingPool: NIOThreadPool
    let recorder: RequestRecorder?
    private let state: Mutex<Snapshot>
    private let requestPrefix: String
    private let requestCounter = Atomic<UInt64>(0)

    init(limits: RequestLimits, upstream: UpstreamSettings, snapshot: Snapshot, group: MultiThreadedEventLoopGroup,
         blockingPool: NIOThreadPool, recorder: RequestRecorder?, logger: Logger) throws {
        self.limits = limits
        upstreamSettings = upstream
        self.logger = logger
        self.blockingPool = blockingPool
        self.recorder = recorder
        pools = try UpstreamPool(group: group, settings: upstream)
        state = Mutex(snapshot)
        requestPrefix = String(UInt32.random(in: 0x1000_0000...UInt32.max), radix: 16)
    }

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Swaps the routes; requests in flight keep the channels they picked.
    func replaceRouter(_ router: ModelRouter) { state.withLock { $0.router = router } }

    /// A request id unique within this process and, by its random prefix, across instances.
    func nextRequestID() -> String {
        let n = requestCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return "req_\(requestPrefix)\(String(n, radix: 16))"
    }
}
