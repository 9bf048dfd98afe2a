import Foundation
import Logging
import Testing
@testable import TollgateCore
import TollgatePluginABI

@Suite struct PluginLoaderTests {
    var loader: PluginLoader {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return PluginLoader(logger: logger)
    }

    /// A directory holding one good plugin beside every kind of broken one.
    func mixedDirectory() throws -> String {
        let dir = try FixturePlugins.temporaryDirectory()
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "a_good.so", defines: [#"PROVIDER_ID="dup""#])
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "b_duplicate.so", defines: [#"PROVIDER_ID="dup""#])
        try FixturePlugins.compile("missing_symbol.c", to: dir, as: "c_missing_symbol.so")
        try FixturePlugins.compile("wrong_major.c", to: dir, as: "d_wrong_major.so")
        try FixturePlugins.compile("init_fails.c", to: dir, as: "e_init_fails.so")
        try FileManager.default.copyItem(atPath: FixturePlugins.sources + "/not_elf.so", toPath: dir + "/f_not_elf.so")
        try Data("ignored".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        return dir
    }

    @Test func refusesEachBrokenPluginWithItsReasonAndKeepsTheGoodOne() throws {
        let dir = try mixedDirectory()
        let registry = PluginRegistry()
        loader.loadDirectory(dir, into: registry)
        let reports = Dictionary(uniqueKeysWithValues: registry.reports.map { (($0.path as NSString).lastPathComponent, $0.status) })
        #expect(reports.count == 6)
        #expect(reports["a_good.so"] == .loaded(kind: .adaptor, name: "fixture", version: "0.0.1", providers: ["dup"]))
        func reason(_ file: String) -> String {
            if case .refused(let reason)? = reports[file] { return reason }
            return "not refused"
        }
        #expect(reason("b_duplicate.so") == "provider id 'dup' is already served by \(dir)/a_good.so")
        #expect(reason("c_missing_symbol.so") == "does not export tollgate_plugin_entry")
        #expect(reason("d_wrong_major.so").hasPrefix("built for plugin ABI 2."))
        #expect(reason("d_wrong_major.so").hasSuffix("; this gateway speaks ABI 1.x"))
        #expect(reason("e_init_fails.so") == "on_init failed (config): missing license file")
        #expect(reason("f_not_elf.so").hasPrefix("cannot be opened:"))
        #expect(registry.providerIDs == ["dup"])
        #expect(registry.plugins.count == 1)
    }

    @Test func gatewayStartsWithTheGoodPluginsAndServesThroughThem() async throws {
        let dir = try mixedDirectory()
        let upstream = try await MockUpstream { request, respond in
            respond.json(200, #"{"id":"x","object":"chat.completion","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1}}"#)
        }
        let harness = try await GatewayHarness.start("""
        channels:
          - { name: fixture, provider: dup, base_url: "\(upstream.baseURL)/v9", models: [fx] }
        """, pluginsDirectory: dir)
        let response = try await harness.chat(#"{"model":"fx","messages":[]}"#)
        #expect(response.status == 200, "\(response.text)")
        #expect(upstream.requests.first?.uri == "/v9/chat/completions")
        #expect(harness.gateway.registry.reports.filter { if case .refused = $0.status { true } else { false } }.count == 5)
        await harness.stop()
        await upstream.stop()
    }

    @Test func aChannelNamingAMissingPluginIsRefusedWithItsName() async throws {
        do {
            let harness = try await GatewayHarness.start("""
            channels:
              - { name: anthropic, provider: claude, models: [claude-*] }
            """)
            await harness.stop()
            Issue.record("the gateway started without the claude plugin")
        } catch let error as ConfigError {
            #expect(error.description.contains("provider 'claude' is not available"))
            #expect(error.description.contains("libtollgate-claude.so"))
            #expect(error.line == 6)
        }
    }

    @Test func theCPluginBuiltByThePackageLoads() {
        let registry = PluginRegistry()
        let report = loader.load(path: BuildProducts.directory + "/libtollgate-ollama-native.so", into: registry)
        guard case .loaded(let kind, let name, _, let providers) = report.status else {
            Issue.record("refused: \(report.line)")
            return
        }
        #expect(kind == .adaptor && name == "ollama-native" && providers == ["ollama-native"])
    }

    @Test func aPluginBuiltForABI10LoadsWithoutThe11Hooks() throws {
        let dir = try FixturePlugins.temporaryDirectory()
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "old.so",
                                   defines: ["HOOKS_SIZE=offsetof(tollgate_type_adaptor_hooks,on_accepts_dialect)"])
        let registry = PluginRegistry()
        let report = loader.load(path: dir + "/old.so", into: registry)
        #expect(report.status == .loaded(kind: .adaptor, name: "fixture", version: "0.0.1", providers: ["fixture"]))
        let hooks = try #require(registry.adaptor(for: "fixture")?.adaptorHooks)
        #expect(hooks.on_accepts_dialect == nil, "fields past a 1.0 table read as NULL")
        #expect(hooks.on_build_request != nil)
    }

    /// Below the ABI 1.0 table (on_stream_destroy cut off) the loader refuses, whatever the hooks.
    @Test func aHookTableSmallerThanABI10IsRefused() throws {
        let dir = try FixturePlugins.temporaryDirectory()
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "short.so",
                                   defines: ["HOOKS_SIZE=offsetof(tollgate_type_adaptor_hooks,on_stream_destroy)"])
        let report = loader.load(path: dir + "/short.so", into: PluginRegistry())
        #expect(report.line.contains("adaptor hooks table is too small"), "\(report.line)")
    }

    /// The one struct_size reader: a field counts only when it lies whole within struct_size, and
    /// a copy reads the fields past it as zero.
    @Test func structSizeHoldsAndCopies() {
        let dialectEnd = MemoryLayout<tollgate_type_response_in>.offset(of: \.dialect)! + MemoryLayout<tollgate_type_dialect>.size
        #expect(StructSize.holds(\tollgate_type_response_in.dialect, structSize: dialectEnd))
        #expect(!StructSize.holds(\tollgate_type_response_in.dialect, structSize: dialectEnd - 1))
        #expect(!StructSize.holds(\tollgate_type_response_in.dialect, structSize: -1))
        var usage = tollgate_type_usage()
        usage.fields = 3
        usage.prompt_tokens = 7
        usage.completion_tokens = 9
        let cut = MemoryLayout<tollgate_type_usage>.offset(of: \.completion_tokens)!
        let copy = withUnsafePointer(to: usage) { StructSize.copy($0, structSize: cut) }
        #expect(copy.fields == 3 && copy.prompt_tokens == 7 && copy.completion_tokens == 0)
        let whole = withUnsafePointer(to: usage) { StructSize.copy($0, structSize: 1 << 20) }
        #expect(whole.completion_tokens == 9, "a larger struct_size (a newer side) reads only the fields this side knows")
    }

    @Test func aMissingDirectoryLoadsNothing() {
        let registry = PluginRegistry()
        loader.loadDirectory("/nonexistent/tollgate", into: registry)
        #expect(registry.reports.isEmpty)
    }
}

@Suite struct AdaptorFactoryTests {
    func registryWithFixture() throws -> PluginRegistry {
        let dir = try FixturePlugins.temporaryDirectory()
        try FixturePlugins.compile("minimal_adaptor.c", to: dir, as: "fixture.so")
        let registry = PluginRegistry()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        PluginLoader(logger: logger).loadDirectory(dir, into: registry)
        return registry
    }

    @Test func createsExactlyOneAdaptorUnderConcurrentFirstUse() async throws {
        let factory = AdaptorFactory(registry: try registryWithFixture())
        let handles = try await withThrowingTaskGroup(of: ObjectIdentifier.self) { group in
            for _ in 0..<200 {
                group.addTask { ObjectIdentifier(try factory.adaptor(providerID: "fixture", apiVersion: "v1")) }
            }
            return try await group.reduce(into: Set<ObjectIdentifier>()) { $0.insert($1) }
        }
        #expect(handles.count == 1)
        #expect(factory.creationCount == 1)
        _ = try factory.adaptor(providerID: "fixture", apiVersion: "v2")
        #expect(factory.creationCount == 2)
    }

    @Test func dropsAdaptorsWhenTheirPluginOrChannelsChange() throws {
        let factory = AdaptorFactory(registry: try registryWithFixture())
        let first = try factory.adaptor(providerID: "fixture")
        #expect(try factory.adaptor(providerID: "fixture") === first)
        factory.invalidate(providerID: "fixture")
        #expect(factory.cachedKeys.isEmpty)
        let second = try factory.adaptor(providerID: "fixture")
        #expect(second !== first)
        _ = try factory.adaptor(providerID: "fixture", apiVersion: "old")
        factory.retain(only: [AdaptorFactory.Key(providerID: "fixture", apiVersion: "")])
        #expect(factory.cachedKeys == [AdaptorFactory.Key(providerID: "fixture", apiVersion: "")])
        #expect(factory.creationCount == 3)
    }

    @Test func unknownProviderIsAClearError() {
        let factory = AdaptorFactory(registry: PluginRegistry())
        #expect(throws: AdaptorError.self) { try factory.adaptor(providerID: "nope") }
    }
}
