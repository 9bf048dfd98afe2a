import ArgumentParser
@preconcurrency import Dispatch
import Foundation
import Logging
import TollgateCore

@main
struct Tollgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tollgate",
        abstract: "An LLM API gateway: one endpoint, every provider, exact bills.",
        subcommands: [Serve.self, CheckConfig.self, Plugins.self, Keys.self, Prices.self, Usage.self],
        defaultSubcommand: Serve.self)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (the embedded default when no --config is given).")

    @Option(help: "YAML configuration file.") var config: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String?

    func run() async throws {
        let logger = makeLogger(logLevel)
        let settings = try loadConfig(config)
        let gateway: Gateway
        do {
            gateway = try await Gateway.make(config: settings, logger: logger)
        } catch let error as ConfigError {
            throw fatal("\(error)")
        }
        let port = try await gateway.start()
        // Signals are handled before the banner says the gateway is ready.
        let signals = SignalWatcher { signal in
            logger.info("stopping", metadata: ["signal": .string(signal), "grace": .string("\(settings.shutdownGrace)")])
            Task { await gateway.stop() }
        }
        let reloads = SignalWatcher(signals: [(SIGHUP, "SIGHUP")]) { _ in
            Task { _ = try? await gateway.reload() }  // it logs what it applied, or why it refused the file
        }
        printBanner(gateway, port: port)
        try await gateway.wait()
        _ = (signals, reloads)
    }

    func printBanner(_ gateway: Gateway, port: Int) {
        let host = gateway.config.listen.host
        let base = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        var lines: [String] = []
        if let admin = gateway.config.admin.listen, let adminPort = gateway.adminPort {
            lines.append("Admin and metrics on http://\(admin.host.contains(":") ? "[\(admin.host)]" : admin.host):\(adminPort)")
        }
        lines.append("Tollgate listening on \(base)")
        for report in gateway.registry.reports { lines.append("  plugin \(report.line)") }
        for report in gateway.templates.reports { lines.append("  template \(report.line)") }
        if let key = gateway.demoKey {
            lines.append("Demo key: \(key)")
            lines.append("Try:  curl \(base)/v1/chat/completions -H 'Authorization: Bearer \(key)' \\")
            lines.append("        -H 'content-type: application/json' -d '{\"model\":\"mock-echo\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'")
        }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a configuration file and exit.")

    @Argument(help: "YAML configuration file.") var file: String

    func run() async throws {
        let settings = try loadConfig(file)
        let registry = PluginRegistry()
        let logger = makeLogger("error")
        PluginLoader(logger: logger).loadDirectory(settings.pluginsDirectory ?? PluginLoader.defaultDirectory, into: registry)
        let templates = TemplateRegistry(reserved: registry.providerIDs, logger: logger)
        if let directory = Gateway.templatesDirectory(settings) { templates.reload(directory: directory) }
        var problems: [String] = []
        for channel in settings.channels {
            if let problem = Gateway.providerProblem(channel, registry: registry, pluginsDirectory: settings.pluginsDirectory,
                                                     templates: templates) {
                problems.append("\(channel.error(problem))")
            }
        }
        guard problems.isEmpty else {
            throw fatal(problems.joined(separator: "\nerror: "))
        }
        print("\(file): OK (\(settings.channels.count) channels, \(settings.keys.count) keys, listen \(settings.listen))")
    }
}

struct Plugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List plugin files and adaptor templates: loaded (kind, providers, version) or refused (why).")

    @Option(help: "Plugins directory (default: the configuration's, else beside this executable).") var dir: String?
    @Option(help: "Templates directory (default: the configuration's, else ./adaptor-templates when it exists).") var templatesDir: String?
    @Option(help: "YAML configuration file whose plugins and templates directories to read.") var config: String?

    func run() async throws {
        let settings = try config.map { try loadConfig($0) }
        let directory = dir ?? settings?.pluginsDirectory ?? PluginLoader.defaultDirectory
        let registry = PluginRegistry()
        let logger = makeLogger("error")
        PluginLoader(logger: logger).loadDirectory(directory, into: registry)
        print("Plugins in \(directory):")
        if registry.reports.isEmpty { print("  (no *.so files)") }
        for report in registry.reports { print("  " + report.line) }
        guard let templatesDirectory = templatesDir ?? Gateway.templatesDirectory(settings ?? GatewayConfig()) else {
            print("Templates: none (no templates directory; the default is \(Gateway.defaultTemplatesDirectory))")
            return
        }
        let templates = TemplateRegistry(reserved: registry.providerIDs, logger: logger)
        templates.reload(directory: templatesDirectory)
        print("Templates in \(templatesDirectory):")
        if templates.reports.isEmpty { print("  (no *.json files)") }
        for report in templates.reports { print("  " + report.line) }
    }
}

/// `tollgate keys create|list|update|rotate|revoke`: client keys kept in storage. A running
/// gateway picks a change up on its next storage refresh (every 2 s by default).
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create, list, change, rotate and revoke client keys kept in storage.",
                                                    subcommands: [KeysCreate.self, KeysList.self, KeysUpdate.self, KeysRotate.self,
                                                                  KeysRevoke.self])
}

/// Opens the configuration's storage, runs `body`, closes it; a refused change exits with its message.
func withKeyStorage<T>(_ configFile: String?, _ body: (GatewayConfig, any Storage, [String: String]) async throws -> T) async throws -> T {
    let settings = try loadConfig(configFile)
    let storage = try await StorageOpener.open(url: settings.storageURL, logger: makeLogger("error"))
    let reserved = Dictionary(settings.keys.map { ($0.name, $0.source?.description ?? "keys") }, uniquingKeysWith: { first, _ in first })
    do {
        let result = try await body(settings, storage, reserved)
        try? await storage.close()
        return result
    } catch let failure as KeyIssuer.Failure {
        try? await storage.close()
        throw fatal(failure.message)
    } catch {
        try? await storage.close()
        throw error
    }
}

/// `50`, `50 USD`, `12.5 EUR daily`: a budget whose currency has an exchange rate (the config's
/// or one set through the admin API).
func parseBudget(_ text: String, settings: GatewayConfig, storage: any Storage) async throws -> Budget {
    guard let budget = Budget.parse(text) else {
        throw fatal("--budget must be like '50 USD monthly' (period: \(Budget.Period.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    let stored = try await storage.objects(kind: .exchangeRate).map(\.name)
    guard settings.pricing.exchangeRates.rates[budget.currency] != nil || stored.contains(budget.currency) else {
        throw fatal("budget currency \(budget.currency) has no exchange rate: add it under pricing.exchange_rates or /admin/exchange-rates")
    }
    return budget
}

func modelList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

struct KeysCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key; it is printed this once.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Option(help: "The key's name (unique).") var name: String
    @Option(help: "Models it may use, comma separated; `*` wildcards (default: all).") var models: String?
    @Option(help: "Expiry: 30d, 12h, 90m, a day (2026-12-31), an RFC 3339 time or Unix seconds.") var expires: String?
    @Option(help: "Requests per minute.") var rpm: Int?
    @Option(help: "Tokens per minute.") var tpm: Int?
    @Option(help: "Requests in flight at once.") var concurrency: Int?
    @Option(help: "Budget: amount, currency and period, e.g. '50 USD monthly'.") var budget: String?

    func run() async throws {
        var request = KeyIssuer.Request(name: name)
        request.models = models.map(modelList) ?? []
        if let expires {
            guard let at = KeyIssuer.parseExpiry(expires) else { throw fatal("--expires must be like 30d, 12h, 2026-12-31 or Unix seconds") }
            request.expiresAt = at
        }
        request.limits = KeyLimits(rpm: rpm, tpm: tpm, concurrency: concurrency)
        let (stored, key) = try await withKeyStorage(config) { settings, storage, reserved in
            if let budget { request.budget = try await parseBudget(budget, settings: settings, storage: storage) }
            return try await KeyIssuer.create(request, storage: storage, reserved: reserved)
        }
        print(key)
        FileHandle.standardError.write(Data("Created key '\(stored.name)'. It is shown only now: store it safely.\n".utf8))
    }
}

struct KeysList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List stored keys (never the keys themselves).")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let keys = try await withKeyStorage(config) { _, storage, _ in try await storage.keys() }
        if json {
            print(JSONValue.array(keys.map { KeyIssuer.json($0) }).jsonString)
            return
        }
        let now = Int64(Date().timeIntervalSince1970)
        func time(_ unix: Int64) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(unix))) }
        print(["NAME", "PREFIX", "STATE", "MODELS", "EXPIRES", "RPM", "TPM", "CONCURRENCY", "BUDGET", "OLD KEY VALID UNTIL"]
            .joined(separator: "\t"))
        for key in keys {
            let state = key.revoked ? "revoked" : key.expiresAt.map { $0 <= now ? "expired" : "active" } ?? "active"
            let limits = [key.limits.rpm, key.limits.tpm, key.limits.concurrency].map { $0.map(String.init) ?? "-" }
            let budget = key.budget.map { "\(Money(nanoUnits: $0.amountNano, currency: $0.currency)) \($0.period.rawValue)" } ?? "-"
            let previous = key.previousValidUntil.flatMap { $0 > now ? time($0) : nil } ?? "-"
            print(([key.name, key.prefix + "…", state, key.models.isEmpty ? "*" : key.models.joined(separator: ","),
                    key.expiresAt.map(time) ?? "-"] + limits + [budget, previous]).joined(separator: "\t"))
        }
    }
}

struct KeysUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a stored key's models, limits, budget or expiry (its secret stays).",
        discussion: "Options left out keep their value; the --no-* flags remove a limit, the budget or the expiry.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Argument(help: "The key's name.") var name: String
    @Option(help: "Models it may use, comma separated; `*` wildcards; `*` alone: all.") var models: String?
    @Option(help: "Expiry: 30d, 12h, 90m, a day (2026-12-31), an RFC 3339 time or Unix seconds.") var expires: String?
    @Flag(help: "Remove the expiry.") var noExpiry = false
    @Option(help: "Requests per minute.") var rpm: Int?
    @Flag(help: "Remove the requests-per-minute limit.") var noRpm = false
    @Option(help: "Tokens per minute.") var tpm: Int?
    @Flag(help: "Remove the tokens-per-minute limit.") var noTpm = false
    @Option(help: "Requests in flight at once.") var concurrency: Int?
    @Flag(help: "Remove the concurrency limit.") var noConcurrency = false
    @Option(help: "Budget: amount, currency and period, e.g. '50 USD monthly'.") var budget: String?
    @Flag(help: "Remove the budget.") var noBudget = false

    func validate() throws {
        for (given, removed, option) in [(expires != nil, noExpiry, "expires"), (rpm != nil, noRpm, "rpm"), (tpm != nil, noTpm, "tpm"),
                                         (concurrency != nil, noConcurrency, "concurrency"), (budget != nil, noBudget, "budget")]
        where given && removed {
            throw ValidationError("--\(option) and its --no-\(option == "expires" ? "expiry" : option) contradict each other")
        }
    }

    func run() async throws {
        var change = KeyChange()
        if let models { change.models = models == "*" ? [] : modelList(models) }
        if let expires {
            guard let at = KeyIssuer.parseExpiry(expires) else { throw fatal("--expires must be like 30d, 12h, 2026-12-31 or Unix seconds") }
            change.expiresAt = .some(at)
        }
        if noExpiry { change.expiresAt = .some(nil) }
        for (value, removed, path) in [(rpm, noRpm, \KeyChange.rpm), (tpm, noTpm, \KeyChange.tpm),
                                       (concurrency, noConcurrency, \KeyChange.concurrency)] {
            if let value { change[keyPath: path] = .some(value) }
            if removed { change[keyPath: path] = .some(nil) }
        }
        if noBudget { change.budget = .some(nil) }
        let stored = try await withKeyStorage(config) { settings, storage, reserved in
            if let budget { change.budget = .some(try await parseBudget(budget, settings: settings, storage: storage)) }
            return try await KeyIssuer.update(name, change, storage: storage, reserved: reserved)
        }
        print("Updated key '\(stored.name)': \(KeyIssuer.json(stored).jsonString)")
    }
}

struct KeysRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Give a stored key a new secret, printed this once; the old one works during --grace.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Argument(help: "The key's name.") var name: String
    @Option(help: "How long the old secret keeps working: 24h, 30m, 90s, 0 (refused at once).") var grace = "24h"

    func run() async throws {
        guard let seconds = KeyIssuer.parseGrace(grace), seconds <= KeyIssuer.maxGraceSeconds else {
            throw fatal("--grace must be like 24h, 30m, 90s or 0, at most 90d")
        }
        let (stored, key) = try await withKeyStorage(config) { _, storage, reserved in
            try await KeyIssuer.rotate(name, graceSeconds: seconds, storage: storage, reserved: reserved)
        }
        print(key)
        let old = stored.previousValidUntil.map {
            "The old key works until \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0))))."
        } ?? "The old key is refused from now on."
        FileHandle.standardError.write(Data("Rotated key '\(stored.name)'. The new key is shown only now: store it safely. \(old)\n".utf8))
    }
}

struct KeysRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a stored key (it stays listed).")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Argument(help: "The key's name.") var name: String

    func run() async throws {
        try await withKeyStorage(config) { _, storage, reserved in try await KeyIssuer.revoke(name, storage: storage, reserved: reserved) }
        print("Revoked key '\(name)'.")
    }
}

struct Prices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage model prices.", subcommands: [PricesSync.self])
}

struct PricesSync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync LiteLLM's price list into storage (a running gateway picks it up within seconds).")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Option(name: .customLong("from"), help: "URL or file to sync from (default: pricing.sync_url, else LiteLLM's list).")
    var source: String?

    func run() async throws {
        let settings = try loadConfig(config)
        let summary: PriceSyncSummary
        do {
            summary = try await PriceSyncTool.run(config: settings, source: source, logger: makeLogger("error")) { line in
                FileHandle.standardError.write(Data(("… " + line + "\n").utf8))
            }
        } catch {
            throw fatal("price sync failed, the prices in force are kept: \(error)")
        }
        print("Synced: \(summary)")
        for (label, names) in [("added", summary.added), ("changed", summary.changed), ("removed", summary.removed)] where !names.isEmpty {
            print("  \(label): " + names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", … (\(names.count) in all)" : ""))
        }
        for item in summary.skipped.prefix(20) { print("  skipped \(item.name): \(item.reason)") }
        if summary.skipped.count > 20 { print("  … \(summary.skipped.count - 20) more skipped") }
    }
}

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Report spend and tokens from the usage ledger.")

    @Option(help: "YAML configuration file (default: the embedded default's data directory).") var config: String?
    @Option(help: "Group by key, model, channel or day.") var by: String = "key"
    @Option(help: "Only requests since this day (YYYY-MM-DD, UTC).") var since: String?
    @Option(help: "Only this key's requests.") var key: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        guard let grouping = UsageQuery.Grouping(rawValue: by) else {
            throw fatal("--by must be one of: " + UsageQuery.Grouping.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var query = UsageQuery(groupBy: grouping, key: key)
        if let since {
            guard let day = UsageReport.parseDay(since) else { throw fatal("--since must be a day like 2026-11-01") }
            query.from = day
        }
        let settings = try loadConfig(config)
        let rows = try await UsageReport.run(storageURL: settings.storageURL, query: query, logger: makeLogger("error"))
        print(json ? UsageReport.json(rows) : UsageReport.table(rows, groupedBy: grouping))
    }
}

/// Reads the configuration file, or the embedded default when there is none.
func loadConfig(_ file: String?) throws -> GatewayConfig {
    guard let file else { return EmbeddedDefault.config(environment: ProcessInfo.processInfo.environment) }
    do {
        return try ConfigLoader.load(file: file)
    } catch let error as ConfigError {
        throw fatal("\(error)")
    }
}

/// Prints a message a person can act on (no usage text) and exits with status 1.
func fatal(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    return ExitCode(1)
}

func makeLogger(_ level: String?) -> Logger {
    let name = level ?? ProcessInfo.processInfo.environment["TOLLGATE_LOG_LEVEL"] ?? "info"
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = Logger.Level(rawValue: name) ?? .info
        return handler
    }
    var logger = Logger(label: "tollgate")
    logger.logLevel = Logger.Level(rawValue: name) ?? .info
    return logger
}

/// Calls back on each delivery of the given signals (SIGTERM and SIGINT by default), off the
/// signal handler's context.
final class SignalWatcher: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(signals: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")], _ onSignal: @escaping @Sendable (String) -> Void) {
        sources = signals.map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { onSignal(name) }
            source.resume()
            return source
        }
    }
}
