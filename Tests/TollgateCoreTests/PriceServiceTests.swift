import BillingPlugin
import Foundation
import Logging
import NIOHTTP1
import Testing
@testable import TollgateCore

/// Price lists: parsing, validation through the billing plugin, sync, local overrides.
@Suite struct PriceServiceTests {
    static let engine: BillingEngine? = {
        let registry = PluginRegistry()
        PluginLoader(logger: Logger(label: "test")).loadLinked(entry: { billingPluginDescriptor() }, name: "billing", into: registry)
        return registry.plugins.first.flatMap(BillingEngine.init(plugin:))
    }()

    struct Fixture {
        let directory: String
        let storage: SQLiteStorage
        let service: PriceService

        func write(_ name: String, _ text: String) throws -> String {
            let path = directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// Writes `name` again, its modification time two seconds past the last one: a reload
        /// tells a file changed by that time, and the test need not wait for the clock to move.
        func rewrite(_ name: String, _ text: String) throws {
            let path = directory + "/" + name
            let last = try #require(PriceService.modified(path))
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: last.addingTimeInterval(2)], ofItemAtPath: path)
        }

        func close() async {
            try? await storage.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func fixture(files: [String] = [], fetch: @escaping PriceService.Fetch = { _ in [] }) async throws -> Fixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-prices-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let storage = try await SQLiteStorage.open(url: directory + "/t.db", logger: logger)
        var settings = PricingSettings()
        settings.syncURL = nil
        settings.files = files.map { directory + "/" + $0 }
        let service = PriceService(engine: try #require(engine), storage: storage, settings: settings, notifier: nil,
                                   logger: logger, fetch: fetch)
        return Fixture(directory: directory, storage: storage, service: service)
    }

    @Test func theBundledListLoadsWhenNothingWasSynced() async throws {
        let f = try await Self.fixture()
        defer { Task { await f.close() } }
        try await f.service.load()
        let book = f.service.book
        #expect(book.models.count > 3000)
        #expect(book.find(model: "gpt-4o", prefixes: ["openai"])?.source == "bundled")
        #expect(book.find(model: "gemini-2.5-flash", prefixes: ["gemini"])?.name == "gemini/gemini-2.5-flash")
        #expect(book.find(model: "claude-sonnet-4-5", prefixes: ["anthropic"])?.name == "claude-sonnet-4-5")
        #expect(book.find(model: "mock-echo", prefixes: [])?.source == "builtin")
        // A name with several slashes is found under any split of it, as the joined name was.
        let llama = "anyscale/meta-llama/Llama-2-7b-chat-hf"
        #expect(book.find(model: "meta-llama/Llama-2-7b-chat-hf", prefixes: ["nope", "anyscale"])?.name == llama)
        #expect(book.find(model: "Llama-2-7b-chat-hf", prefixes: ["anyscale/meta-llama"])?.name == llama)
        #expect(book.find(model: "meta-llama/Llama-2-7b-chat-hf", prefixes: ["anyscale/"]) == nil)
        #expect(book.find(model: "", prefixes: [llama]) == nil && book.find(model: "chat-hf", prefixes: ["anyscale/meta-llama/Llama-2-7b"]) == nil)
    }

    @Test func aSyncReportsAddedChangedRemovedAndSkippedAndIsStored() async throws {
        let f = try await Self.fixture()
        defer { Task { await f.close() } }
        try await f.service.load()
        let first = try f.write("v1.json", #"""
        {"sample_spec": {"input_cost_per_token": 0},
         "model-a": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
         "model-b": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}}
        """#)
        _ = try await f.service.sync(from: first)
        let second = try f.write("v2.json", #"""
        {"model-a": {"input_cost_per_token": 3e-06, "output_cost_per_token": 2e-06},
         "model-c": {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
         "bad-negative": {"input_cost_per_token": -1e-06, "output_cost_per_token": 2e-06},
         "bad-tier": {"tiered_pricing": [{"range": [2000, 1000], "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}]},
         "bad-text": {"input_cost_per_token": "cheap", "output_cost_per_token": 2e-06},
         "not-an-object": 5}
        """#)
        let summary = try await f.service.sync(from: second)
        #expect(summary.added == ["model-c"])
        #expect(summary.changed == ["model-a"])
        #expect(summary.removed == ["model-b"])
        let skipped = Dictionary(uniqueKeysWithValues: summary.skipped.map { ($0.name, $0.reason) })
        #expect(skipped.keys.sorted() == ["bad-negative", "bad-text", "bad-tier", "not-an-object"])
        #expect(skipped["bad-negative"]?.contains("input_cost_per_token") == true)
        #expect(skipped["bad-tier"]?.contains("tiered_pricing[0].range") == true)
        #expect(skipped["bad-text"]?.contains("input_cost_per_token") == true)
        let book = f.service.book
        #expect(book.models["model-a"]?.source == "synced" && book.models["model-b"] == nil && book.models["bad-negative"] == nil)
        // Stored: a fresh service on the same storage starts from the synced list.
        let stored = try #require(try await f.storage.syncedPrices())
        #expect(stored.catalog.entries.keys.sorted() == ["model-a", "model-c"])
        #expect(stored.source == second)
        // A refused entry keeps the model's previous price, and says so.
        let third = try f.write("v3.json", #"{"model-a": {"input_cost_per_token": -3e-06}, "model-c": {"input_cost_per_token": 1e-06}}"#)
        let refusedA = try await f.service.sync(from: third)
        #expect(refusedA.skipped.first?.reason.contains("previous price stays in force") == true)
        #expect(f.service.book.models["model-a"] != nil)
        #expect(try await f.storage.syncedPrices()?.catalog.entries["model-a"] == Array(#"{"input_cost_per_token":3e-06,"output_cost_per_token":2e-06}"#.utf8))
    }

    @Test func aMalformedSyncKeepsThePricesInForce() async throws {
        let f = try await Self.fixture()
        defer { Task { await f.close() } }
        try await f.service.load()
        let before = f.service.book.models.count
        for (name, text) in [("garbage.json", "not json {"), ("array.json", "[1,2]"),
                             ("all-bad.json", #"{"x": {"input_cost_per_token": -1}}"#)] {
            let path = try f.write(name, text)
            await #expect(throws: PriceCatalog.Malformed.self) { try await f.service.sync(from: path) }
        }
        await #expect(throws: PriceCatalog.Malformed.self) { try await f.service.sync(from: f.directory + "/missing.json") }
        #expect(f.service.book.models.count == before)
        #expect(try await f.storage.syncedPrices() == nil)
    }

    @Test func aSyncFromAURLUsesTheFetcher() async throws {
        let f = try await Self.fixture(fetch: { url in
            #expect(url == "https://prices.example/list.json")
            return Array(#"{"remote-model": {"input_cost_per_token": 5e-07, "output_cost_per_token": 1e-06}}"#.utf8)
        })
        defer { Task { await f.close() } }
        try await f.service.load()
        let summary = try await f.service.sync(from: "https://prices.example/list.json")
        #expect(summary.added.contains("remote-model"))
        #expect(f.service.book.models["remote-model"] != nil)
    }

    @Test func localFilesOverrideFieldByFieldAndReloadOnChange() async throws {
        let f = try await Self.fixture(files: ["override.json"])
        defer { Task { await f.close() } }
        let path = try f.write("override.json", #"{"gpt-4o": {"output_cost_per_token": 2e-05}}"#)
        try await f.service.load()
        let engine = try #require(Self.engine)
        func cost() throws -> Int64 {
            let priced = try #require(f.service.book.find(model: "gpt-4o", prefixes: ["openai"]))
            return try engine.cost(priced.price, usage: TokenUsage(prompt: 1000, completion: 100), marks: BillingMarks(), region: nil).money.nanoUnits
        }
        // input stays the synced $2.50; output is the override's $20 per 1M
        #expect(try cost() == 1000 * 2500 + 100 * 20000)
        #expect(f.service.book.models["gpt-4o"]?.source == path)
        try f.rewrite("override.json", #"{"gpt-4o": {"output_cost_per_token": 4e-05}}"#)
        await f.service.reloadIfChanged()
        #expect(try cost() == 1000 * 2500 + 100 * 40000)
        // A broken override is reported and leaves the synced price in force.
        try f.rewrite("override.json", "{ broken")
        await f.service.reloadIfChanged()
        #expect(try cost() == 1000 * 2500 + 100 * 10000)
    }

    /// A channel remembers the entry it found last, for that book only: a reload's new price is
    /// billed from the next request, and another model or `price_model` finds its own entry.
    @Test func aChannelsRememberedPriceFollowsTheBookAndTheModel() async throws {
        let f = try await Self.fixture(files: ["override.json"])
        defer { Task { await f.close() } }
        _ = try f.write("override.json", #"{"gpt-4o": {"output_cost_per_token": 2e-05}}"#)
        try await f.service.load()
        let biller = Biller(engine: try #require(Self.engine), prices: f.service, notifier: nil)
        func channel(options: [String: String] = [:]) -> RuntimeChannel {
            var config = ChannelConfig(name: "c", provider: "openai", models: ["*"])
            config.options = options
            let endpoint = UpstreamEndpoint(tls: false, host: "127.0.0.1", port: 9)
            return RuntimeChannel(config: config, backend: .openAI(PassthroughUpstream(endpoint: endpoint, basePath: "/v1", baseHeaders: HTTPHeaders())))
        }
        let usage = TokenUsage(prompt: 1000, completion: 100)
        func bill(_ model: String, on channel: RuntimeChannel) -> Bill {
            biller.bill(usage: usage, model: model, channel: channel, marks: BillingMarks())
        }
        func nano(_ model: String, on channel: RuntimeChannel) throws -> Int64 { try #require(bill(model, on: channel).cost).nanoUnits }
        let c = channel()
        #expect(try nano("gpt-4o", on: c) == 1000 * 2500 + 100 * 20000)
        #expect(try nano("gpt-4o", on: c) == 1000 * 2500 + 100 * 20000)
        #expect(try nano("gpt-4o-mini", on: c) == 1000 * 150 + 100 * 600)
        #expect(bill("no-such-model", on: c).problem == "no price for model 'no-such-model'")
        #expect(try nano("gpt-4o", on: c) == 1000 * 2500 + 100 * 20000)
        try f.rewrite("override.json", #"{"gpt-4o": {"output_cost_per_token": 4e-05}}"#)
        await f.service.reloadIfChanged()
        #expect(try nano("gpt-4o", on: c) == 1000 * 2500 + 100 * 40000)
        let named = channel(options: ["price_model": "gpt-4o-mini"])
        #expect(try nano("gpt-4o", on: named) == 1000 * 150 + 100 * 600)
    }

    @Test func aSyncByAnotherProcessIsPickedUp() async throws {
        let f = try await Self.fixture()
        defer { Task { await f.close() } }
        try await f.service.load()
        var catalog = PriceCatalog()
        catalog.entries["elsewhere"] = Array(#"{"input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}"#.utf8)
        try await f.storage.replaceSyncedPrices(SyncedPrices(catalog: catalog, source: "cli", syncedAt: unixSeconds() + 1))
        await f.service.reloadIfChanged()
        #expect(f.service.book.models["elsewhere"] != nil)
        #expect(f.service.book.models["gpt-4o"] == nil)  // the synced list replaced the bundled one
    }
}
