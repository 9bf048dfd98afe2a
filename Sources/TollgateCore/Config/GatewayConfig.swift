import Foundation
import NIOCore

/// The gateway's whole configuration, as read from YAML (or built for the embedded default).
public struct GatewayConfig: Sendable {
    /// The file it was read from (what a reload reads again); nil for the embedded default.
    public var file: String?
    public var listen = ListenAddress(host: "127.0.0.1", port: 8080)
    /// Where the SQLite file, the demo key and other local state live.
    public var dataDirectory = "./data"
    /// `sqlite:///path/to/file.db` (default: `<data_dir>/tollgate.db`).
    public var storage: String?
    /// At least 24 characters; accepted only as `Authorization: Bearer <admin_key>`.
    public var adminKey: String?
    /// Where `/admin` and `/metrics` are served, and whether `/metrics` needs the admin key.
    public var admin = AdminSettings()
    /// The key sealing stored credentials: `TOLLGATE_SECRET_KEY` (never read from the file).
    public var secretKey: String? = ProcessInfo.processInfo.environment["TOLLGATE_SECRET_KEY"]
    /// Where plugin `*.so` files are found; nil = beside the executable (where `swift build` puts them).
    public var pluginsDirectory: String?
    /// Load, replace and withdraw plugins as their files come and go (`plugins: { watch }`; on
    /// when the config names a plugins folder). Channels on a provider not loaded yet then wait.
    public var watchPlugins = false
    public var templatesDirectory: String?
    public var limits = RequestLimits()
    public var upstream = UpstreamSettings()
    public var keys: [KeyConfig] = []
    public var channels: [ChannelConfig] = []
    /// Models tried in order when every channel of a model failed with a retryable failure
    /// (`fallbacks: { gpt-4o: [claude-sonnet-4-5] }`); a key's own list wins for its requests.
    public var fallbacks: [String: [String]] = [:]
    /// Models tried in order when the upstream says the prompt exceeds the model's context
    /// window (`context_window_fallbacks: { gpt-4o-mini: [gpt-4.1] }`).
    public var contextWindowFallbacks: [String: [String]] = [:]
    /// Create and print a demo key (the embedded default does).
    public var demoKey = false
    /// The environment the embedded default was made from: loaded plugins add their providers'
    /// channels from it (`EmbeddedDefault.pluginChannels`). Nil for a configuration file.
    public var environment: [String: String]?
    /// Event loop threads; nil = the CPUs this process may run on (its affinity mask).
    public var threads: Int?
    public var pricing = PricingSettings()
    public var notify = Notifier.Settings()
    /// Breakers, probes, adaptive upstream limits (`health:`).
    public var health = HealthSettings()
    /// Failover (`routing:`).
    public var routing = RoutingSettings()
    /// How often the usage ledger writes its queue (the most a hard kill can lose).
    public var ledgerFlushInterval: Duration = .milliseconds(200)
    /// How often keys and budget spend are re-read from storage (changes made by other instances).
    public var sharedStateInterval: Duration = .seconds(2)
    /// How long converted Responses API answers are kept for `previous_response_id`.
    public var responsesRetention: Duration = .seconds(30 * 86_400)
    /// Structured request log (JSON lines): `stdout`, `stderr`, a file path, or nil (off).
    public var requestLog: String?
    /// On SIGTERM/SIGINT: how long requests in flight (streams included) may take to finish
    /// after the listener closed, before the gateway exits anyway.
    public var shutdownGrace: Duration = .seconds(10)
    /// OpenTelemetry tracing, from the standard OTEL_* variables (off without an endpoint).
    public var tracing = TracingSettings(environment: ProcessInfo.processInfo.environment)
    /// The clock of the per-key rate-limit windows; not in the file (tests fix it).
    public var limiterClock: LimiterClock = { .now() }

    public init() {}

    /// The storage URL in force: `storage:`, else the SQLite file in the data directory.
    public var storageURL: String {
        storage ?? "sqlite://" + (dataDirectory as NSString).appendingPathComponent("tollgate.db")
    }
}

public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { "\(host):\(port)" }
}

public struct AdminSettings: Sendable {
    /// A listener of their own for `/admin` and `/metrics` (nil: the client listener serves them).
    public var listen: ListenAddress?
    public var metricsAuth = MetricsAuth.none

    public enum MetricsAuth: String, Sendable, CaseIterable {
        case none
        case adminKey = "admin_key"
    }
}

public struct RequestLimits: Sendable {
    /// Largest client request body accepted; larger gets 413.
    public var maxBodyBytes = 32 << 20
    /// Largest complete (non-streamed) upstream answer the gateway reads to meter it.
    public var maxResponseBytes = 64 << 20
    /// Time a client has to send a whole request (head and body) after connecting or after its
    /// previous answer; then 408 (or, before any byte, the connection is closed). Against
    /// slowloris clients, and it bounds how long an idle keep-alive connection stays open.
    public var requestTimeout: Duration = .seconds(60)
    /// How long a keep-alive connection may wait, after an answer, for its next request.
    public var keepAliveTimeout: Duration = .seconds(30)
    /// Open client connections at most, in total and from one address (nil: no cap per address);
    /// past either, a new connection is answered 503 / 429 and closed.
    public var maxConnections = 10_000
    public var maxConnectionsPerIP: Int?
    /// How often instances on one PostgreSQL share their rate-limit counts (`SharedLimitSync`).
    public var syncInterval: Duration = .milliseconds(250)
    /// What a client hanging up mid-answer does to its upstream request.
    public var onClientDisconnect = ClientDisconnect.cancel
}

/// `limits.on_client_disconnect`: `cancel` closes the upstream request at once (what it reported,
/// or an estimate, is billed); `drain` reads the answer to its end for the upstream's own usage.
public enum ClientDisconnect: String, Sendable {
    case cancel, drain
}

public struct UpstreamSettings: Sendable {
    public var connectTimeout: Duration = .seconds(10)
    /// Time allowed until the upstream's response head arrives.
    public var responseTimeout: Duration = .seconds(600) { didSet { responseWait = TimeAmount(responseTimeout) } }
    /// Longest silence allowed between two chunks of a response.
    public var readTimeout: Duration = .seconds(300) { didSet { readWait = TimeAmount(readTimeout) } }
    /// The two as NIO's `TimeAmount`, made when they are set: a request sets three deadlines, and
    /// a `Duration`'s components cost 190 instructions each time.
    private(set) var responseWait = TimeAmount.seconds(600)
    private(set) var readWait = TimeAmount.seconds(300)
    /// Pooled idle connections are closed after this long.
    public var idleTimeout: Duration = .seconds(60)
}

public struct KeyConfig: Sendable {
    public var name: String
    public var key: String
    /// Model patterns this key may use (`*` wildcards); empty = all.
    public var models: [String] = []
    public var rpm: Int?
    public var tpm: Int?
    public var concurrency: Int?
    public var budget: Budget?
    /// This key's fallbacks (they replace the top-level ones for the models they name).
    public var fallbacks: [String: [String]] = [:]
    /// Where the config file defines it (an admin change is refused with this place).
    public var source: SourcePosition?
    /// `billing: { tier: batch }`: the operator bills this key's requests at batch prices.
    public var billingTier = BillingTier.standard

    public var limits: KeyLimits { KeyLimits(rpm: rpm, tpm: tpm, concurrency: concurrency) }
}

/// Where a configured value came from, for errors raised after parsing.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public var description: String { line.map { "\(file), line \($0)" } ?? file }
}

public struct ChannelConfig: Sendable {
    public var name: String
    /// `openai`, `mock`, or a plugin's or template's provider id.
    public var provider: String
    public var baseURL: String?
    public var apiVersion: String?
    public var credentials: [String: String] = [:]
    /// Model patterns served (`*` wildcards).
    public var models: [String] = []
    /// Client-facing name -> upstream name.
    public var modelMap: [String: String] = [:]
    public var weight = 1
    public var priority = 0
    public var region: String?
    /// Provider-specific settings handed to the adaptor as they are.
    public var options: [String: String] = [:]
    /// Out of rotation when false: kept (with its health) but routing sends it nothing.
    public var enabled = true
    /// `billing: { tier: batch }`: the operator bills this channel's requests at batch prices.
    public var billingTier = BillingTier.standard
    public var source: SourcePosition?

    public init(name: String, provider: String, baseURL: String? = nil, models: [String] = []) {
        self.name = name
        self.provider = provider
        self.baseURL = baseURL
        self.models = models
    }
}
