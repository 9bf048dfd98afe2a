import Foundation
import Logging
import NIOPosix

/// `tollgate prices sync`: syncs the price list into the gateway's storage from the command line,
/// outside a running gateway (which notices the stored list within seconds).
public enum PriceSyncTool {
    public static func run(config: GatewayConfig, source: String?, logger: Logger,
                           progress: @escaping @Sendable (String) -> Void) async throws -> PriceSyncSummary {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let storage = try await StorageOpener.open(url: config.storageURL, logger: logger)
        do {
            let registry = PluginRegistry()
            PluginLoader(logger: logger).loadDirectory(config.pluginsDirectory ?? PluginLoader.defaultDirectory, into: registry)
            guard let engine = Gateway.billingEngine(registry, logger: logger) else {
                throw PriceCatalog.Malformed(description: "no billing plugin (libtollgate-billing.so) in "
                                             + (config.pluginsDirectory ?? PluginLoader.defaultDirectory) + " to validate prices with")
            }
            let client = try SideClient(group: group)
            let service = PriceService(engine: engine, storage: storage, settings: config.pricing, notifier: nil, logger: logger) { url in
                try await Gateway.fetchPriceList(url, client: client, pool: pool)
            }
            try await service.load()
            let summary = try await service.sync(from: source ?? config.pricing.syncURL ?? PricingSettings.liteLLMURL, progress: progress)
            try await close(storage, group, pool)
            return summary
        } catch {
            try? await close(storage, group, pool)
            throw error
        }
    }

    private static func close(_ storage: any Storage, _ group: MultiThreadedEventLoopGroup, _ pool: NIOThreadPool) async throws {
        try await storage.close()
        try await group.shutdownGracefully()
        try await pool.shutdownGracefully()
    }
}
