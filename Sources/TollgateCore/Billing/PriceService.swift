import Foundation
import Logging
import Synchronization

/// Keeps the price book current: the synced list (from storage, else the bundled snapshot) with
/// the local files laid over it. Syncs at start and every `interval`, reloads local files when
/// they change, and notices a sync made by another process (`tollgate prices sync`). A failed or
/// malformed sync keeps the prices in force and says why.
public final class PriceService: Sendable {
    public typealias Fetch = @Sendable (_ url: String) async throws -> [UInt8]

    let engine: BillingEngine?
    let storage: any Storage
    /// Swapped by a config reload (`update`).
    private let live: Mutex<PricingSettings>
    var settings: PricingSettings { live.withLock { $0 } }
    let notifier: Notifier?
    let logger: Logger
    let fetch: Fetch
    private let current = Mutex(PriceBook.empty)
    private let synced = Mutex(SyncedPrices(catalog: PriceCatalog(), source: "", syncedAt: 0))
    private let fileStamps = Mutex<[String: Date]>([:])
    /// Price entries set through the admin API: the top layer, over the local files.
    private let adminLayer = Mutex(PriceCatalog())
    private let background = Mutex<Task<Void, Never>?>(nil)

    public init(engine: BillingEngine?, storage: any Storage, settings: PricingSettings, notifier: Notifier?,
                logger: Logger, fetch: @escaping Fetch) {
        self.engine = engine
        self.storage = storage
        live = Mutex(settings)
        self.notifier = notifier
        self.logger = logger
        self.fetch = fetch
    }

    public var book: PriceBook { current.withLock { $0 } }

    /// Built-in prices: the mock provider's model, so the embedded default bills offline too.
    static let builtin = PriceCatalog(entries: [
        "mock-echo": Array(#"{"litellm_provider":"mock","mode":"chat","input_cost_per_token":1e-06,"output_cost_per_token":2e-06}"#.utf8),
    ])

    /// LiteLLM's list as bundled with this build (litellm 1.108.7).
    public static func bundled() throws -> PriceCatalog {
        guard let url = Bundle.module.url(forResource: "model_prices_and_context_window", withExtension: "json") else {
            throw PriceCatalog.Malformed(description: "the bundled price list is missing from this build")
        }
        return try PriceCatalog.parse(Array(try Data(contentsOf: url)), source: "bundled price list")
    }

    /// Loads the stored synced list (or the bundled one) and the local files; builds the book.
    public func load() async throws {
        if let stored = try await storage.syncedPrices() {
            synced.withLock { $0 = stored }
        } else {
            synced.withLock { $0 = SyncedPrices(catalog: (try? Self.bundled()) ?? PriceCatalog(), source: "bundled", syncedAt: 0) }
        }
        rebuild()
    }

    /// Fetches a price list (URL or file path), validates every entry and, unless the document is
    /// malformed, stores it and rebuilds the book. `progress` receives short status lines.
    @discardableResult
    public func sync(from source: String, progress: @Sendable (String) -> Void = { _ in }) async throws -> PriceSyncSummary {
        progress("fetching \(source)")
        let bytes: [UInt8]
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            bytes = try await fetch(source)
        } else {
            guard let data = FileManager.default.contents(atPath: source) else {
                throw PriceCatalog.Malformed(description: "\(source): cannot read the file")
            }
            bytes = Array(data)
        }
        progress("validating \(bytes.count) bytes")
        let catalog = try PriceCatalog.parse(bytes, source: source)
        let refused = validate(catalog, progress: progress)
        guard catalog.entries.count > refused.count else {
            throw PriceCatalog.Malformed(description: "\(source): no usable price entry (\(refused.count) refused)")
        }
        let old = synced.withLock { $0.catalog }
        let summary = PriceSyncSummary(old: old, new: catalog, refused: refused)
        // A refused entry never costs a model its price: the previous entry stays in force.
        var kept = catalog
        for (name, _) in refused { kept.entries[name] = old.entries[name] }
        kept.skipped = summary.skipped
        let record = SyncedPrices(catalog: kept, source: source, syncedAt: unixSeconds())
        try await storage.replaceSyncedPrices(record)
        synced.withLock { $0 = record }
        rebuild()
        if !old.entries.isEmpty {
            for name in summary.added.prefix(50) {
                notifier?.notify(NotificationEvent(type: "new_model", priority: .low, title: "New model in the price list",
                                                   message: "price sync added '\(name)'", metadata: ["model": name, "source": source]))
            }
        }
        return summary
    }

    /// Entries the billing plugin refuses, with the reason naming the entry and field.
    func validate(_ catalog: PriceCatalog, progress: @Sendable (String) -> Void) -> [(name: String, reason: String)] {
        guard let engine else { return [] }
        var refused: [(name: String, reason: String)] = []
        for (index, (name, bytes)) in catalog.entries.sorted(by: { $0.key < $1.key }).enumerated() {
            if index % 1000 == 999 { progress("validated \(index + 1)/\(catalog.entries.count) entries") }
            do { _ = try engine.compile(bytes) } catch { refused.append((name, "\(name): \(error.message)")) }
        }
        return refused
    }

    /// Rebuilds the book from the synced list and the local files as they are now.
    func rebuild() {
        guard let engine else { return }
        var layers: [(source: String, catalog: PriceCatalog)] = [("builtin", Self.builtin)]
        let syncedPrices = synced.withLock { $0 }
        layers.append((syncedPrices.syncedAt == 0 ? "bundled" : "synced", syncedPrices.catalog))
        var stamps: [String: Date] = [:]
        for file in settings.files {
            stamps[file] = Self.modified(file)
            do {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw PriceCatalog.Malformed(description: "\(file): cannot read the file")
                }
                layers.append((file, try PriceCatalog.parse(Array(data), source: file)))
            } catch {
                logger.error("price file not loaded; its prices are not in force", metadata: ["error": "\(error)"])
            }
        }
        fileStamps.withLock { $0 = stamps }
        layers.append(("admin", adminLayer.withLock { $0 }))
        let book = PriceBook.build(layers: layers, engine: engine)
        for (_, reason) in book.refused where layers.count > 2 || syncedPrices.syncedAt != 0 {
            logger.warning("price entry refused", metadata: ["reason": .string(reason)])
        }
        current.withLock { $0 = book }
        logger.info("prices loaded", metadata: ["models": "\(book.models.count)", "refused": "\(book.refused.count)",
                                                "source": .string(syncedPrices.syncedAt == 0 ? "bundled" : syncedPrices.source)])
    }

    /// Puts new pricing settings in force (a config reload): local files are read again now, a
    /// changed sync URL or interval applies from the next sync.
    func update(_ settings: PricingSettings) {
        live.withLock { $0 = settings }
        rebuild()
    }

    /// Replaces the admin layer (entries stored through the admin API) and rebuilds the book.
    public func setAdminEntries(_ entries: [String: [UInt8]]) {
        adminLayer.withLock { $0 = PriceCatalog(entries: entries) }
        rebuild()
    }

    /// Why an entry would be refused, or nil (the billing plugin compiles it).
    public func problem(with entry: [UInt8]) -> String? {
        guard let engine else { return "no billing plugin is loaded to check prices with" }
        do { _ = try engine.compile(entry); return nil } catch { return error.message }
    }

    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Starts the background work: a sync now and every interval, local files checked every
    /// `pollInterval`, and the stored list checked for a sync made elsewhere.
    public func startBackground(pollInterval: Duration = .seconds(2)) {
        background.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                var nextSync = ContinuousClock.now
                while !Task.isCancelled {
                    if let url = settings.syncURL, ContinuousClock.now >= nextSync {
                        nextSync = ContinuousClock.now + settings.interval
                        await syncLogged(url)
                    }
                    try? await Task.sleep(for: pollInterval)
                    await reloadIfChanged()
                }
            }
        }
    }

    public func stop() {
        background.withLock { $0?.cancel(); $0 = nil }
    }

    private func syncLogged(_ url: String) async {
        do {
            let summary = try await sync(from: url)
            logger.info("prices synced: \(summary)", metadata: ["source": .string(url)])
        } catch {
            logger.warning("price sync failed; the prices in force are kept", metadata: ["source": .string(url), "error": "\(error)"])
        }
    }

    /// Reloads when a local file changed or another process stored a newer synced list.
    func reloadIfChanged() async {
        let stamps = fileStamps.withLock { $0 }
        var changed = settings.files.contains { Self.modified($0) != stamps[$0] }
        if let storedAt = try? await storage.pricesSyncedAt(), storedAt > synced.withLock({ $0.syncedAt }),
           let stored = try? await storage.syncedPrices() {
            synced.withLock { $0 = stored }
            changed = true
        }
        if changed { rebuild() }
    }
}
