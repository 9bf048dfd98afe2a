import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The assembled gateway: plugins loaded, storage open, keys and channels ready, server bound.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    public let registry: PluginRegistry
    /// Loads plugin files found while running (`pluginWatcher` finds them).
    let pluginLoader: PluginLoader
    let pluginWatcher: PluginWatcher?
    /// One route rebuild at a time (template, plugin and admin changes arrive on their own tasks).
    let routeEdits = Mutex(())
    /// The config file's channels in force (a reload replaces them).
    let configChannels: Mutex<[ChannelConfig]>
    /// One config reload at a time.
    let reloading = AsyncGate()
    public let factory: AdaptorFactory
    public let runtime: GatewayRuntime
    public let storage: any Storage
    public let ledger: UsageLedger
    public let prices: PriceService
    public let notifier: Notifier
    let requestLog: RequestLog?
    /// Channels, templates, prices and rates managed through the admin API.
    let managed: ManagedObjects
    public let keys: KeyRegistry
    let prober: HealthProber
    private let keyPoller = Mutex<Task<Void, Never>?>(nil)
    /// Template adaptors; `templateWatcher` reloads them when their files change.
    public let templates: TemplateRegistry
    let templateWatcher: TemplateWatcher?
    /// Re-reads keys and budget spend that other instances change.
    let sharedState: SharedStateWatcher
    /// Shares rate-limit counts with other instances on the same PostgreSQL.
    let sharedLimits: SharedLimitSync
    /// The demo key in clear, when the configuration asks for one (the embedded default does).
    public let demoKey: String?
    let group: MultiThreadedEventLoopGroup
    let blockingPool: NIOThreadPool
    private let server = Mutex<Channel?>(nil)
    /// The listener of `admin.listen`, when operations have one of their own.
    private let adminServer = Mutex<Channel?>(nil)
    private let stopping = Mutex<Task<Void, Never>?>(nil)

    private init(config: GatewayConfig, registry: PluginRegistry, pluginLoader: PluginLoader, pluginWatcher: PluginWatcher?,
                 factory: AdaptorFactory, runtime: GatewayRuntime,
                 storage: any Storage, ledger: UsageLedger, prices: PriceService, notifier: Notifier, requestLog: RequestLog?,
                 keys: KeyRegistry, prober: HealthProber, templates: TemplateRegistry, demoKey: String?,
                 group: MultiThreadedEventLoopGroup, blockingPool: NIOThreadPool, sealer: SecretSealer?) {
        managed = ManagedObjects(sealer: sealer)
        self.config = config
        self.registry = registry
        self.pluginLoader = pluginLoader
        self.pluginWatcher = pluginWatcher
        configChannels = Mutex(config.channels)
        self.factory = factory
        self.runtime = runtime
        self.storage = storage
        self.ledger = ledger
        self.prices = prices
        self.notifier = notifier
        self.requestLog = requestLog
        self.keys = keys
        self.prober = prober
        self.templates = templates
        sharedState = SharedStateWatcher(storage: storage, runtime: runtime, interval: config.sharedStateInterval, logger: runtime.logger)
        sharedLimits = SharedLimitSync(storage: storage, runtime: runtime, interval: config.limits.syncInterval, logger: runtime.logger)
        templateWatcher = Self.templatesDirectory(config).map { TemplateWatcher(directory: $0, registry: templates) }
        self.demoKey = demoKey
        self.group = group
        self.blockingPool = blockingPool
    }

    /// Loads plugins, opens storage and prepares keys and channels. Throws `ConfigError` for a
    /// channel that cannot be served (e.g. its provider's plugin is missing).
    /// `linkedPlugins` are plugins compiled into this process (name, entry), checked like files.
    public static func make(config: GatewayConfig, logger: Logger, recorder: RequestRecorder? = nil,
                            linkedPlugins: [(String, () -> UnsafeRawPointer?)] = []) async throws -> Gateway {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.threads ?? usableCPUCount(), metricsDelegate: TickFlush.Ticks())
        let blockingPool = NIOThreadPool(numberOfThreads: 4)
        blockingPool.start()
        var openedStorage: (any Storage)?
        do {
            let registry = PluginRegistry()
            var loader = PluginLoader(logger: logger)
            let sideClient = try SideClient(group: group)
            loader.sideClient = sideClient
            let pluginsDirectory = config.pluginsDirectory ?? PluginLoader.defaultDirectory
            let pluginWatcher = config.watchPlugins
                ? PluginWatcher(directory: pluginsDirectory, seen: PluginWatcher.signature(pluginsDirectory)) : nil
            loader.loadDirectory(pluginsDirectory, into: registry)
            for (name, entry) in linkedPlugins { loader.loadLinked(entry: entry, name: name, into: registry) }
            let templates = TemplateRegistry(reserved: registry.providerIDs, logger: logger)
            var hotLoader = loader
            hotLoader.acceptsBilling = false
            hotLoader.servedElsewhere = { [weak templates] id in templates?.template(for: id).map { "template \($0.source)" } }
            if let directory = templatesDirectory(config) { templates.reload(directory: directory) }
            let factory = AdaptorFactory(registry: registry, templates: templates)

            let storage = try await StorageOpener.open(url: config.storageURL, logger: logger)
            openedStorage = storage
            let sealer = try SecretSealer.load(key: config.secretKey, storageURL: config.storageURL, dataDirectory: config.dataDirectory)
            let health = HealthTracker(settings: config.health)
            try await applyOverrides(try await storage.channelOverrides(), to: health)
            var config = config
            if let environment = config.environment {
                config.channels += EmbeddedDefault.pluginChannels(registry.plugins, environment: environment, existing: config.channels)
            }
            let channels = try makeChannels(config, registry: registry, factory: factory, logger: logger, templates: templates,
                                            health: health)
            let demoKey = config.demoKey ? try await DemoKey.ensure(dataDirectory: config.dataDirectory, storage: storage) : nil
            if !config.demoKey { try await DemoKey.remove(dataDirectory: config.dataDirectory, storage: storage, logger: logger) }
            let keyRegistry = KeyRegistry(configKeys: config.keys, storage: storage, logger: logger)
            let keys = KeyStore(try await keyRegistry.load(), clock: config.limiterClock)

            let notifier = Notifier(settings: config.notify, logger: logger) { url, body in
                try await blockingPool.runIfActive {
                    try sideClient.perform(SideRequest(method: "POST", url: url, headers: [("content-type", "application/json")],
                                                       body: body, timeout: .seconds(10))).status
                }
            }
            health.events.onNotify { notifier.notify($0) }
            let engine = billingEngine(registry, logger: logger)
            let prices = PriceService(engine: engine, storage: storage, settings: config.pricing, notifier: notifier,
                                      logger: logger) { url in
                try await fetchPriceList(url, client: sideClient, pool: blockingPool)
            }
            try await prices.load()
            let rates = RateBook(config.pricing.exchangeRates)
            let budgets = try await loadBudgets(keyRegistry.budgets, rates: rates, storage: storage, logger: logger)
            let ledger = UsageLedger(storage: storage, logger: logger, flushInterval: config.ledgerFlushInterval,
                                     spillPath: (config.dataDirectory as NSString).appendingPathComponent("ledger-spill.jsonl"))
            ledger.start()
            let metrics = GatewayMetrics()
            let link = GatewayLink()
            let requestLog = try config.requestLog.map { destination in
                do { return try RequestLog(destination: destination) } catch { throw ConfigError(file: "config", key: "request_log", message: "\(error)") }
            }
            requestLog?.start()

            let runtime = try GatewayRuntime(limits: config.limits, upstream: config.upstream,
                                             snapshot: .init(keys: keys, router: ModelRouter(channels: channels), fallbacks: config.fallbacks,
                                                             contextWindowFallbacks: config.contextWindowFallbacks),
                                             group: group, blockingPool: blockingPool,
                                             recorders: [ledger, metrics] + (requestLog.map { [$0] } ?? [])
                                                 + [recorder ?? LogRecorder(logger: logger)],
                                             metrics: metrics, rates: rates,
                                             biller: Biller(engine: engine, prices: prices, notifier: notifier),
                                             budgets: budgets,
                                             admin: config.adminKey.map { AdminContext(keyDigest: KeyDigest(of: $0), storage: storage,
                                                                                        prices: prices, keys: keyRegistry, link: link,
                                                                                        metricsAuth: config.admin.metricsAuth, sealer: sealer) },
                                             health: health, routing: config.routing, logger: logger,
                                             responses: (storage as? any ResponseStore).map {
                                                 ResponseKeeper(store: $0, retention: config.responsesRetention, logger: logger)
                                             },
                                             tracing: try RequestTracing.make(config.tracing, logger: logger))
            let prober = HealthProber(runtime: runtime, logger: logger) { request in
                try await blockingPool.runIfActive { try sideClient.perform(request) }
            }
            let gateway = Gateway(config: config, registry: registry, pluginLoader: hotLoader, pluginWatcher: pluginWatcher,
                                  factory: factory, runtime: runtime, storage: storage,
                                  ledger: ledger, prices: prices, notifier: notifier, requestLog: requestLog, keys: keyRegistry,
                                  prober: prober, templates: templates, demoKey: demoKey, group: group, blockingPool: blockingPool,
                                  sealer: sealer)
            templates.onChange { [weak gateway] changed in gateway?.providersChanged(changed) }
            health.events.onDeprecation { [weak gateway] channel, model, notice in gateway?.deprecationFound(channel, model: model, notice) }
            try await gateway.applyManagedObjects()
            link.gateway = gateway
            gateway.sharedState.onObjectsChanged { [weak gateway] in try await gateway?.applyManagedObjects() }
            gateway.sharedState.onAnnounced { [weak gateway] table in await gateway?.storageChanged(table) }
            metrics.addGauges { [weak gateway] in
                "# HELP tollgate_shared_limit_syncs_total Rate-limit syncs with other instances (PostgreSQL).\n"
                    + "# TYPE tollgate_shared_limit_syncs_total counter\n"
                    + "tollgate_shared_limit_syncs_total \(gateway?.sharedLimits.syncs.load(ordering: .relaxed) ?? 0)\n"
            }
            metrics.addGauges { [weak runtime] in
                "# HELP tollgate_ledger_queue_depth Usage records waiting to be written.\n# TYPE tollgate_ledger_queue_depth gauge\n"
                    + "tollgate_ledger_queue_depth \(ledger.queueDepth)\n"
                    + "# HELP tollgate_requests_in_flight Requests being served.\n# TYPE tollgate_requests_in_flight gauge\n"
                    + "tollgate_requests_in_flight \(runtime?.inFlight ?? 0)\n"
                    + "# HELP tollgate_client_connections Client connections open.\n# TYPE tollgate_client_connections gauge\n"
                    + "tollgate_client_connections \(runtime?.connections.open ?? 0)\n"
                    + "# HELP tollgate_client_connections_refused_total Connections refused past limits.max_connections(_per_ip).\n"
                    + "# TYPE tollgate_client_connections_refused_total counter\n"
                    + "tollgate_client_connections_refused_total \(runtime?.connections.refused ?? 0)\n"
                    + "# HELP tollgate_client_hangups_total Clients that hung up while their request was served.\n# TYPE tollgate_client_hangups_total counter\n"
                    + "tollgate_client_hangups_total \(runtime?.clientHangUps ?? 0)\n"
                    + (runtime.map { HealthGauges.render(AdminHealth.report(runtime: $0), label: GatewayMetrics.quote) } ?? "")
            }
            return gateway
        } catch {
            try? await openedStorage?.close()
            try? await group.shutdownGracefully()
            try? await blockingPool.shutdownGracefully()
            throw error
        }
    }

    /// Every channel's provider must be built in or served by a loaded plugin. Channels the
    /// embedded default added from the environment are skipped (with a warning) instead.
    static func makeChannels(_ config: GatewayConfig, registry: PluginRegistry, factory: AdaptorFactory,
                             logger: Logger, templates: TemplateRegistry? = nil, health: HealthTracker) throws -> [RuntimeChannel] {
        var channels: [RuntimeChannel] = []
        for channel in config.channels {
            if let problem = providerProblem(channel, registry: registry, pluginsDirectory: config.pluginsDirectory, templates: templates) {
                if config.templatesDirectory != nil || config.watchPlugins {  // it may come as a template or plugin later
                    logger.warning("channel waits for its provider", metadata: ["channel": .string(channel.name), "reason": .string(problem)])
                    continue
                }
                if config.demoKey && channel.source == nil {
                    logger.warning("channel skipped", metadata: ["channel": .string(channel.name), "reason": .string(problem)])
                    continue
                }
                throw channel.error(problem)
            }
            channels.append(try RuntimeChannel.make(channel, factory: factory, health: health.health(for: channel.name)))
        }
        return channels
    }

    /// Why a channel's provider cannot be served, or nil.
    public static func providerProblem(_ channel: ChannelConfig, registry: PluginRegistry, pluginsDirectory: String?,
                                       templates: TemplateRegistry? = nil) -> String? {
        let provider = channel.provider
        if PluginLoader.builtInProviders.contains(provider) || registry.adaptor(for: provider) != nil { return nil }
        if templates?.template(for: provider) != nil { return nil }
        let directory = pluginsDirectory ?? PluginLoader.defaultDirectory
        return "provider '\(provider)' is not available: no loaded plugin or template serves it (expected a plugin such as "
            + "libtollgate-\(provider).so in \(directory), or a template with \"provider\": \"\(provider)\"; "
            + "`tollgate plugins` lists what was found)"
    }

    /// The loaded billing plugin, if any; without one requests are recorded unpriced (and say so).
    static func billingEngine(_ registry: PluginRegistry, logger: Logger) -> BillingEngine? {
        guard let plugin = registry.plugins.first(where: { $0.kind == .billing }), let engine = BillingEngine(plugin: plugin) else {
            logger.warning("no billing plugin loaded (libtollgate-billing.so): requests are recorded without a cost")
            return nil
        }
        return engine
    }

    /// Fetches a price list over HTTP(S) on the blocking pool.
    static func fetchPriceList(_ url: String, client: SideClient, pool: NIOThreadPool) async throws -> [UInt8] {
        let answer = try await pool.runIfActive {
            try client.perform(SideRequest(method: "GET", url: url, headers: [("accept", "application/json")], body: [],
                                           timeout: .seconds(60)))
        }
        guard answer.status == 200 else {
            throw PriceCatalog.Malformed(description: "\(url) answered HTTP \(answer.status)")
        }
        return answer.body
    }

    /// Each key's budget, with what it already spent this period (from storage).
    static func loadBudgets(_ budgets: [String: Budget], rates: RateBook, storage: any Storage, logger: Logger) async throws -> BudgetTracker {
        let tracker = BudgetTracker(budgets: budgets, rates: rates, storage: storage, logger: logger)
        try await tracker.refresh(now: unixSeconds())
        return tracker
    }

    // MARK: Serving

    /// Binds the listener (and the admin listener, with `admin.listen`); returns the bound port
    /// (useful with port 0).
    @discardableResult
    public func start() async throws -> Int {
        let separate = config.admin.listen
        let channel = try await listen(on: config.listen, serving: separate == nil ? .all : .client)
        server.withLock { $0 = channel }
        if let separate {
            let admin = try await listen(on: separate, serving: .admin)
            adminServer.withLock { $0 = admin }
        }
        prices.startBackground()
        templateWatcher?.start()
        pluginWatcher?.start { [weak self] changes in self?.pluginFilesChanged(changes) }
        sharedState.start()
        sharedLimits.start()
        if config.health.probes { prober.start(interval: config.health.probeInterval) }
        startKeyPolling(every: config.sharedStateInterval)
        runtime.tracing?.start(logger: runtime.logger)
        return channel.localAddress?.port ?? config.listen.port
    }

    /// The admin listener's bound port, when `admin.listen` is set and the gateway started.
    public var adminPort: Int? { adminServer.withLock { $0 }?.localAddress?.port }

    /// A listener: each connection it accepts (within `limits.max_connections` and
    /// `max_connections_per_ip`) gets an HTTP pipeline ending in a `RequestHandler`.
    private func listen(on address: ListenAddress, serving listener: RouteTable.Listener) async throws -> Channel {
        let runtime = self.runtime
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    let peer = channel.remoteAddress?.ipAddress ?? ""
                    if let refusal = runtime.connections.acquire(peer) {
                        return try sync.addHandler(ConnectionRefusal(refusal))
                    }
                    channel.closeFuture.whenComplete { _ in runtime.connections.release(peer) }
                    // One handler and none of NIO's HTTP handlers: RequestHandler reads requests
                    // with its own parser, serves pipelined ones in order and writes its answers
                    // as bytes (no decoder, encoder, validator or pipelining handler: no hops).
                    try sync.addHandler(RequestHandler(runtime: runtime, listener: listener))
                }
            }
            .bind(host: address.host, port: address.port)
            .get()
    }

    /// Stops accepting, lets requests in flight finish (up to `grace`, else the configured
    /// `shutdown_grace`), closes what is left, writes the whole usage ledger, and releases
    /// threads and storage. Called again (a second signal), it waits for the first call.
    public func stop(grace: Duration? = nil) async {
        let task = stopping.withLock { task in
            if let task { return task }
            let made = Task { await self.shutDown(grace: grace ?? self.config.shutdownGrace) }
            task = made
            return made
        }
        await task.value
    }

    private func shutDown(grace: Duration) async {
        if let channel = server.withLock({ $0 }) { try? await channel.close() }
        if let channel = adminServer.withLock({ $0 }) { try? await channel.close() }
        templateWatcher?.stop()
        pluginWatcher?.stop()
        sharedState.stop()
        sharedLimits.stop()
        prober.stop()
        keyPoller.withLock { $0?.cancel(); $0 = nil }
        let deadline = ContinuousClock.now + grace
        while runtime.inFlight > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if runtime.inFlight > 0 {
            runtime.logger.warning("shutdown grace over; closing requests still in flight", metadata: ["requests": "\(runtime.inFlight)"])
        }
        prices.stop()
        // Notifications and the blocking pool first: their work (webhooks, plugins' side
        // requests) still needs the event loops. Then the connections close before the ledger's
        // last write, so requests cut here are recorded too.
        await notifier.shutdown()
        try? await blockingPool.shutdownGracefully()
        try? await group.shutdownGracefully()
        await runtime.budgets.drain()  // charges of requests cut just now
        await ledger.shutdown()
        await runtime.tracing?.stop()  // the last spans
        requestLog?.stop()
        try? await storage.close()
    }

    func setKeyPoller(_ task: Task<Void, Never>) { keyPoller.withLock { $0?.cancel(); $0 = task } }

    /// Blocks until the listener closes and, when that was `stop`, until it has finished (so the
    /// process never exits before the ledger is written).
    public func wait() async throws {
        if let channel = server.withLock({ $0 }) { try await channel.closeFuture.get() }
        if let task = stopping.withLock({ $0 }) { await task.value }
    }
}

/// CPUs in this process's affinity mask (`taskset`, cgroups cpusets), not the machine's count.
/// Read from /proc (sched_getaffinity is not exported to Swift on glibc).
func usableCPUCount() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return System.coreCount }
    let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { total, digit in
        total + (digit.hexDigitValue?.nonzeroBitCount ?? 0)
    }
    return count > 0 ? min(count, System.coreCount) : System.coreCount
}

/// Logs one line per finished request at debug level (the usage ledger replaces it).
struct LogRecorder: RequestRecorder {
    let logger: Logger

    func record(_ record: RequestRecord) {
        guard logger.logLevel <= .debug else { return }
        logger.debug("request", metadata: [
            "request_id": .string(record.requestID), "route": .string(record.route), "status": .stringConvertible(record.status),
            "model": .string(record.model ?? ""), "channel": .string(record.channel ?? ""), "key": .string(record.keyName ?? ""),
            "prompt_tokens": .stringConvertible(record.usage.prompt ?? 0),
            "completion_tokens": .stringConvertible(record.usage.completion ?? 0),
            "latency_ms": .stringConvertible(Double(record.latencyNanos) / 1e6),
        ])
    }
}

/// The embedded default's demo key: made once, kept in `<data_dir>/demo-key` (mode 0600) so it
/// can be printed again, and stored hashed like every key.
enum DemoKey {
    static func ensure(dataDirectory: String, storage: any Storage) async throws -> String {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = (dataDirectory as NSString).appendingPathComponent("demo-key")
        var key = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if key.isEmpty {
            key = KeyGenerator.clientKey()
            guard fm.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
            }
        }
        let digest = KeyDigest(of: key).hex
        if try await !storage.keys().contains(where: { $0.digestHex == digest }) {
            try await storage.deleteKey(named: "demo")  // a demo key whose file was removed
            try await storage.insert(StoredKey(name: "demo", digestHex: digest, prefix: String(key.prefix(7)), models: [],
                                               expiresAt: nil, revoked: false, createdAt: unixSeconds()))
        }
        return key
    }

    /// With `demo_key` off, the demo key an earlier run made in this data directory stops
    /// working: its stored digest and its file are removed (a key is known as the demo key by the
    /// file, so a stored key an operator happened to call "demo" is kept).
    static func remove(dataDirectory: String, storage: any Storage, logger: Logger) async throws {
        let path = (dataDirectory as NSString).appendingPathComponent("demo-key")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let digest = KeyDigest(of: text.trimmingCharacters(in: .whitespacesAndNewlines)).hex
        for stored in try await storage.keys() where stored.digestHex == digest {
            try await storage.deleteKey(named: stored.name)
        }
        try FileManager.default.removeItem(atPath: path)
        logger.notice("demo_key is off: the demo key of an earlier run was removed", metadata: ["file": .string(path)])
    }
}
