import Foundation
import Logging
import SQLiteNIO

/// SQLite storage in one file (WAL mode), with versioned migrations applied at open.
public final class SQLiteStorage: Storage {
    let connection: SQLiteConnection
    /// The usage ledger's rows go through a connection of their own (see SQLiteLedgerWriter).
    let ledger: SQLiteLedgerWriter
    public let path: String
    /// One statement or transaction at a time on `connection` (see `run`).
    private let users = AsyncGate()

    /// Each entry is one migration (statements separated by `;`), applied in order once; never
    /// edit a shipped one, append.
    static let migrations: [String] = [
        """
        CREATE TABLE keys (
            name TEXT NOT NULL UNIQUE,
            digest TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            models TEXT NOT NULL DEFAULT '[]',
            expires_at INTEGER,
            revoked INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE usage_ledger (
            request_id TEXT PRIMARY KEY,
            key_name TEXT, channel TEXT, provider TEXT, model TEXT, dialect TEXT NOT NULL, route TEXT NOT NULL,
            status INTEGER NOT NULL,
            prompt_tokens INTEGER, completion_tokens INTEGER, cache_read_tokens INTEGER, cache_creation_tokens INTEGER,
            audio_tokens INTEGER, reasoning_tokens INTEGER, estimated INTEGER NOT NULL DEFAULT 0,
            cost_nano INTEGER, currency TEXT, price_name TEXT, price_source TEXT, price_problem TEXT,
            latency_us INTEGER NOT NULL, ttfb_us INTEGER,
            started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL
        );
        CREATE INDEX usage_ledger_started ON usage_ledger (started_at);
        CREATE INDEX usage_ledger_key ON usage_ledger (key_name, started_at);
        CREATE TABLE price_entries (name TEXT PRIMARY KEY, entry TEXT NOT NULL);
        CREATE TABLE price_sync (id INTEGER PRIMARY KEY CHECK (id = 1), source TEXT NOT NULL, synced_at INTEGER NOT NULL,
                                 skipped TEXT NOT NULL DEFAULT '[]')
        """,
        """
        CREATE TABLE budget_spend (
            key_name TEXT NOT NULL, period_start INTEGER NOT NULL, currency TEXT NOT NULL, spent_nano INTEGER NOT NULL,
            PRIMARY KEY (key_name, period_start, currency)
        )
        """,
        """
        CREATE TABLE admin_objects (kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, updated_at INTEGER NOT NULL,
                                    PRIMARY KEY (kind, name))
        """,
        """
        ALTER TABLE keys ADD COLUMN rpm INTEGER;
        ALTER TABLE keys ADD COLUMN tpm INTEGER;
        ALTER TABLE keys ADD COLUMN concurrency INTEGER;
        CREATE TABLE channel_overrides (channel TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL, value TEXT NOT NULL,
                                        reason TEXT NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (channel, kind, model))
        """,
        // Keys that change and rotate: a budget per stored key, and the replaced secret's grace.
        """
        ALTER TABLE keys ADD COLUMN budget_nano INTEGER;
        ALTER TABLE keys ADD COLUMN budget_currency TEXT;
        ALTER TABLE keys ADD COLUMN budget_period TEXT;
        ALTER TABLE keys ADD COLUMN previous_digest TEXT;
        ALTER TABLE keys ADD COLUMN previous_valid_until INTEGER
        """,
        // The model the client asked for, when a fallback (`model`) served the request.
        """
        ALTER TABLE usage_ledger ADD COLUMN fallback_from TEXT
        """,
        // Responses API answers kept for previous_response_id (ResponseStore).
        """
        CREATE TABLE stored_responses (id TEXT PRIMARY KEY, key_name TEXT NOT NULL, created_at INTEGER NOT NULL,
                                       expires_at INTEGER NOT NULL, response TEXT NOT NULL, conversation TEXT NOT NULL);
        CREATE INDEX stored_responses_expiry ON stored_responses (expires_at)
        """,
        // The ledger kept in start-time order: two b-trees a row instead of four (the rowid
        // table, the request_id key and two indexes), about 2,500 of a chat request's 100,000
        // instructions. Time ranges and the latest requests read the table itself; a replayed
        // spill row has the same (started_at, request_id) and is still ignored.
        """
        CREATE TABLE usage_ledger_by_time (
            request_id TEXT NOT NULL,
            key_name TEXT, channel TEXT, provider TEXT, model TEXT, dialect TEXT NOT NULL, route TEXT NOT NULL,
            status INTEGER NOT NULL,
            prompt_tokens INTEGER, completion_tokens INTEGER, cache_read_tokens INTEGER, cache_creation_tokens INTEGER,
            audio_tokens INTEGER, reasoning_tokens INTEGER, estimated INTEGER NOT NULL DEFAULT 0,
            cost_nano INTEGER, currency TEXT, price_name TEXT, price_source TEXT, price_problem TEXT,
            latency_us INTEGER NOT NULL, ttfb_us INTEGER,
            started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, fallback_from TEXT,
            PRIMARY KEY (started_at, request_id)
        ) WITHOUT ROWID;
        INSERT INTO usage_ledger_by_time
            SELECT request_id, key_name, channel, provider, model, dialect, route, status, prompt_tokens, completion_tokens,
                   cache_read_tokens, cache_creation_tokens, audio_tokens, reasoning_tokens, estimated, cost_nano, currency,
                   price_name, price_source, price_problem, latency_us, ttfb_us, started_at, ended_at, fallback_from
            FROM usage_ledger;
        DROP TABLE usage_ledger;
        ALTER TABLE usage_ledger_by_time RENAME TO usage_ledger;
        CREATE INDEX usage_ledger_key ON usage_ledger (key_name, started_at)
        """,
    ]

    private init(connection: SQLiteConnection, ledger: SQLiteLedgerWriter, path: String) {
        self.connection = connection
        self.ledger = ledger
        self.path = path
    }

    /// Opens (creating folders and file as needed) and migrates. `url` is `sqlite:///abs/path`,
    /// `sqlite://relative/path` or a plain path.
    public static func open(url: String, logger: Logger) async throws -> SQLiteStorage {
        let path = url.hasPrefix("sqlite://") ? String(url.dropFirst("sqlite://".count)) : url
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        do {
            try await migrate(connection, logger: logger)
            return SQLiteStorage(connection: connection, ledger: try SQLiteLedgerWriter(path: path, insert: insertUsage, columns: usageColumns.count), path: path)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Applies the migrations not yet applied, up to the first `count` (tests build older schemas);
    /// each one applied to a database in use is logged (one may copy a large table).
    static func migrate(_ connection: SQLiteConnection, logger: Logger? = nil, count: Int = migrations.count) async throws {
        _ = try await connection.query("PRAGMA journal_mode=WAL")
        _ = try await connection.query("PRAGMA busy_timeout=5000")
        _ = try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        let rows = try await connection.query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        let current = rows.first?.column("v")?.integer ?? 0
        for (index, sql) in Self.migrations.prefix(count).enumerated() where index + 1 > current {
            if current > 0 { logger?.notice("migrating the SQLite database to schema version \(index + 1)") }
            _ = try await connection.query("BEGIN")
            do {
                // SQLite prepares one statement at a time; a migration may hold several.
                for statement in sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                    _ = try await connection.query(String(statement))
                }
                _ = try await connection.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                                               [.integer(index + 1), .integer(Int(unixSeconds()))])
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    public var schemaVersion: Int {
        get async throws {
            try await run("SELECT MAX(version) AS v FROM schema_migrations").first?.column("v")?.integer ?? 0
        }
    }

    public func keys() async throws -> [StoredKey] {
        try await run("""
            SELECT name, digest, prefix, models, expires_at, revoked, created_at, rpm, tpm, concurrency,
                   budget_nano, budget_currency, budget_period, previous_digest, previous_valid_until FROM keys ORDER BY created_at
            """)
            .map { row in
                let models = (try? JSONParser.parse(row.column("models")?.string ?? "[]"))?.arrayValue?.compactMap(\.stringValue) ?? []
                var key = StoredKey(name: row.column("name")?.string ?? "", digestHex: row.column("digest")?.string ?? "",
                                    prefix: row.column("prefix")?.string ?? "", models: models,
                                    expiresAt: row.column("expires_at")?.integer.map(Int64.init),
                                    revoked: (row.column("revoked")?.integer ?? 0) != 0,
                                    createdAt: Int64(row.column("created_at")?.integer ?? 0),
                                    limits: KeyLimits(rpm: row.column("rpm")?.integer, tpm: row.column("tpm")?.integer,
                                                      concurrency: row.column("concurrency")?.integer),
                                    budget: Budget(storedNano: row.column("budget_nano")?.integer.map(Int64.init),
                                                   currency: row.column("budget_currency")?.string,
                                                   period: row.column("budget_period")?.string))
                key.previousDigestHex = row.column("previous_digest")?.string
                key.previousValidUntil = row.column("previous_valid_until")?.integer.map(Int64.init)
                return key
            }
    }

    public func insert(_ key: StoredKey) async throws {
        _ = try await run(
            """
            INSERT INTO keys (digest, prefix, models, expires_at, rpm, tpm, concurrency, budget_nano, budget_currency, budget_period,
                              previous_digest, previous_valid_until, name, revoked, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            Self.changeable(key) + [.text(key.name), .integer(key.revoked ? 1 : 0), .integer(Int(key.createdAt))])
    }

    public func updateKey(_ key: StoredKey, ifDigest digestHex: String) async throws -> Bool {
        let updated = try await run("""
            UPDATE keys SET digest = ?, prefix = ?, models = ?, expires_at = ?, rpm = ?, tpm = ?, concurrency = ?,
                budget_nano = ?, budget_currency = ?, budget_period = ?, previous_digest = ?, previous_valid_until = ?
            WHERE name = ? AND digest = ? RETURNING name
            """, Self.changeable(key) + [.text(key.name), .text(digestHex)])
        return !updated.isEmpty
    }

    /// The columns a change may rewrite, in the order the statements above name them.
    private static func changeable(_ key: StoredKey) -> [SQLiteData] {
        func int(_ n: (some BinaryInteger)?) -> SQLiteData { n.map { .integer(Int($0)) } ?? .null }
        func text(_ s: String?) -> SQLiteData { s.map { .text($0) } ?? .null }
        return [.text(key.digestHex), .text(key.prefix), .text(JSONValue.array(key.models.map(JSONValue.string)).jsonString),
                int(key.expiresAt), int(key.limits.rpm), int(key.limits.tpm), int(key.limits.concurrency),
                int(key.budget?.amountNano), text(key.budget?.currency), text(key.budget?.period.rawValue),
                text(key.previousDigestHex), int(key.previousValidUntil)]
    }

    public func revokeKey(named name: String) async throws -> Bool {
        let found = try await run("SELECT name FROM keys WHERE name = ?", [.text(name)])
        guard !found.isEmpty else { return false }
        _ = try await run("UPDATE keys SET revoked = 1 WHERE name = ?", [.text(name)])
        return true
    }

    public func channelOverrides() async throws -> [ChannelOverride] {
        try await run("SELECT channel, kind, model, value, reason, created_at FROM channel_overrides ORDER BY created_at")
            .compactMap { row in
                guard let kind = row.column("kind")?.string.flatMap(ChannelOverride.Kind.init(rawValue:)) else { return nil }
                return ChannelOverride(channel: row.column("channel")?.string ?? "", kind: kind, model: row.column("model")?.string ?? "",
                                       value: row.column("value")?.string ?? "", reason: row.column("reason")?.string ?? "",
                                       createdAt: Int64(row.column("created_at")?.integer ?? 0))
            }
    }

    public func saveChannelOverride(_ o: ChannelOverride) async throws {
        _ = try await run("""
            INSERT INTO channel_overrides (channel, kind, model, value, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (channel, kind, model) DO UPDATE SET value = excluded.value, reason = excluded.reason,
                created_at = excluded.created_at
            """, [.text(o.channel), .text(o.kind.rawValue), .text(o.model), .text(o.value), .text(o.reason), .integer(Int(o.createdAt))])
    }

    public func deleteKey(named name: String) async throws {
        _ = try await run("DELETE FROM keys WHERE name = ?", [.text(name)])
    }

    public func close() async throws {
        ledger.close()
        try await connection.close()
    }

    // MARK: Usage ledger

    public func appendUsage(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        try await ledger.append(records, values: Self.values)
    }

    /// The ledger's columns in the order `values` fills them.
    static let usageColumns = ["request_id", "key_name", "channel", "provider", "model", "dialect", "route", "status",
                               "prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_creation_tokens", "audio_tokens",
                               "reasoning_tokens", "estimated", "cost_nano", "currency", "price_name", "price_source", "price_problem",
                               "latency_us", "ttfb_us", "started_at", "ended_at", "fallback_from"]
    static let insertUsage = "INSERT OR IGNORE INTO usage_ledger (" + usageColumns.joined(separator: ", ") + ")"

    /// A record's values in the order of `usageColumns`.
    @Sendable static func values(_ r: RequestRecord, into row: inout SQLiteLedgerWriter.Values) {
        let audio = r.usage.audioPrompt.map { $0.addingSaturated(r.usage.audioCompletion ?? 0) } ?? r.usage.audioCompletion
        let latencyMicros = r.latencyNanos / 1000
        row.append(r.requestID); row.append(r.keyName); row.append(r.channel); row.append(r.provider)
        row.append(r.model); row.append(r.dialect); row.append(r.route); row.append(Int64(r.status))
        row.append(r.usage.prompt); row.append(r.usage.completion); row.append(r.usage.cacheRead)
        row.append(r.usage.cacheCreation); row.append(audio); row.append(r.usage.reasoning)
        row.append(Int64(r.usage.estimated ? 1 : 0)); row.append(r.bill.cost?.nanoUnits); row.append(r.bill.cost?.currency)
        row.append(r.bill.priceName); row.append(r.bill.priceSource); row.append(r.bill.problem)
        row.append(Int64(latencyMicros)); row.append(r.firstByteNanos.map { $0 / 1000 }); row.append(Int64(r.startedAtMillis))
        row.append(Int64(r.startedAtMillis + latencyMicros / 1000)); row.append(r.fallbackFrom)
    }

    public func usageReport(_ query: UsageQuery) async throws -> [UsageRow] {
        var conditions: [String] = []
        var binds: [SQLiteData] = []
        if let from = query.from { conditions.append("started_at >= ?"); binds.append(.integer(Int(from))) }
        if let to = query.to { conditions.append("started_at < ?"); binds.append(.integer(Int(to))) }
        if let key = query.key { conditions.append("key_name = ?"); binds.append(.text(key)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = """
            SELECT \(Self.groupColumn(query.groupBy)) AS grp, \(query.splitBy.map(Self.groupColumn) ?? "NULL") AS spl,
                   COALESCE(currency, 'USD') AS cur, COUNT(*) AS n,
                   \(Self.sumInHalves("prompt_tokens", as: "p")), \(Self.sumInHalves("completion_tokens", as: "c")),
                   \(Self.sumInHalves("cache_read_tokens", as: "cr")), \(Self.sumInHalves("cache_creation_tokens", as: "cc")),
                   \(Self.sumInHalves("cost_nano", as: "cost")), SUM(CASE WHEN cost_nano IS NULL AND prompt_tokens IS NOT NULL THEN 1 ELSE 0 END) AS unpriced
            FROM usage_ledger \(filter) GROUP BY grp, spl, cur ORDER BY grp, spl, cur
            """
        return try await run(sql, binds).map { row in
            func n(_ name: String) -> Int64 { Int64(row.column(name)?.integer ?? 0) }
            func total(_ name: String) -> Int64 { Self.joinHalves(high: n(name + "_hi"), low: n(name + "_lo")) }
            return UsageRow(group: row.column("grp")?.string ?? "", split: row.column("spl")?.string, currency: row.column("cur")?.string ?? "",
                            requests: n("n"), promptTokens: total("p"), completionTokens: total("c"), cacheReadTokens: total("cr"),
                            cacheCreationTokens: total("cc"), costNano: total("cost"), unpriced: n("unpriced"))
        }
    }

    /// A column's sum as the sums of its high and low 32 bits (`joinHalves` joins them): SQLite
    /// fails a whole query with "integer overflow" when a SUM passes Int64, and the ledger holds
    /// what upstreams reported, absurd counts too. Neither half overflows before billions of rows.
    static func sumInHalves(_ column: String, as name: String) -> String {
        "COALESCE(SUM(\(column) >> 32), 0) AS \(name)_hi, COALESCE(SUM(\(column) & 4294967295), 0) AS \(name)_lo"
    }

    /// The total the two halves' sums make, held within Int64.
    static func joinHalves(high: Int64, low: Int64) -> Int64 {
        Int64(clamping: Int128(high) << 32 + Int128(low))
    }

    public func recentRequests(_ query: RecentRequestsQuery) async throws -> [LedgerRow] {
        // Client requests: model calls are recorded by route name, other client routes by their /v1 path.
        var conditions = ["(route NOT LIKE '/%' OR route LIKE '/v1%')", "status >= ?", "status < ?"]
        var binds: [SQLiteData] = [.integer(query.statuses.lowerBound), .integer(query.statuses.upperBound)]
        if let key = query.key { conditions.append("key_name = ?"); binds.append(.text(key)) }
        if let model = query.model { conditions.append("model = ?"); binds.append(.text(model)) }
        binds.append(.integer(query.limit))
        let sql = """
            SELECT request_id, started_at, key_name, route, model, channel, status, prompt_tokens, completion_tokens, estimated,
                   cost_nano, currency, latency_us
            FROM usage_ledger WHERE \(conditions.joined(separator: " AND ")) ORDER BY started_at DESC, request_id DESC LIMIT ?
            """
        return try await run(sql, binds).map { row in
            func n(_ name: String) -> Int64? { row.column(name)?.integer.map(Int64.init) }
            return LedgerRow(requestID: row.column("request_id")?.string ?? "", startedAt: n("started_at") ?? 0,
                             key: row.column("key_name")?.string, route: row.column("route")?.string ?? "",
                             model: row.column("model")?.string, channel: row.column("channel")?.string,
                             status: row.column("status")?.integer ?? 0, promptTokens: n("prompt_tokens"),
                             completionTokens: n("completion_tokens"), estimated: (n("estimated") ?? 0) != 0,
                             costNano: n("cost_nano"), currency: row.column("currency")?.string, latencyMicros: n("latency_us") ?? 0)
        }
    }

    /// The SQL expression a report groups by (each backend words the day its own way).
    static func groupColumn(_ grouping: UsageQuery.Grouping) -> String {
        switch grouping {
        case .key: "COALESCE(key_name, '')"
        case .model: "COALESCE(model, '')"
        case .channel: "COALESCE(channel, '')"
        case .day: "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')"
        }
    }

    public func addBudgetSpend(key: String, periodStart: Int64, currency: String, nano: Int64) async throws -> Int64 {
        let rows = try await run("""
            INSERT INTO budget_spend (key_name, period_start, currency, spent_nano) VALUES (?, ?, ?, ?)
            ON CONFLICT (key_name, period_start, currency) DO UPDATE SET spent_nano = spent_nano + excluded.spent_nano
            RETURNING spent_nano
            """, [.text(key), .integer(Int(periodStart)), .text(currency), .integer(Int(nano))])
        return Int64(rows.first?.column("spent_nano")?.integer ?? 0)
    }

    public func budgetSpent(key: String, periodStart: Int64, currency: String) async throws -> Int64 {
        let rows = try await run(
            "SELECT spent_nano FROM budget_spend WHERE key_name = ? AND period_start = ? AND currency = ?",
            [.text(key), .integer(Int(periodStart)), .text(currency)])
        return Int64(rows.first?.column("spent_nano")?.integer ?? 0)
    }

    // MARK: Admin objects

    public func objects(kind: StoredObject.Kind) async throws -> [StoredObject] {
        try await run("SELECT name, body, updated_at FROM admin_objects WHERE kind = ? ORDER BY name", [.text(kind.rawValue)])
            .map { row in
                StoredObject(kind: kind, name: row.column("name")?.string ?? "", body: Array((row.column("body")?.string ?? "").utf8),
                             updatedAt: Int64(row.column("updated_at")?.integer ?? 0))
            }
    }

    public func putObject(_ object: StoredObject) async throws {
        _ = try await run("""
            INSERT INTO admin_objects (kind, name, body, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
            """, [.text(object.kind.rawValue), .text(object.name), .text(String(decoding: object.body, as: UTF8.self)),
                  .integer(Int(object.updatedAt))])
    }

    public func deleteObject(kind: StoredObject.Kind, name: String) async throws -> Bool {
        let rows = try await run("DELETE FROM admin_objects WHERE kind = ? AND name = ? RETURNING name",
                                 [.text(kind.rawValue), .text(name)])
        return !rows.isEmpty
    }

    public func objectsStamp() async throws -> String {
        let row = try await run("SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS at FROM admin_objects").first
        return "\(row?.column("n")?.integer ?? 0):\(row?.column("at")?.integer ?? 0)"
    }

    // MARK: Prices

    public func syncedPrices() async throws -> SyncedPrices? {
        guard let meta = try await run("SELECT source, synced_at, skipped FROM price_sync WHERE id = 1").first else {
            return nil
        }
        var catalog = PriceCatalog()
        for row in try await run("SELECT name, entry FROM price_entries") {
            guard let name = row.column("name")?.string, let entry = row.column("entry")?.string else { continue }
            catalog.entries[name] = Array(entry.utf8)
        }
        let skipped = (try? JSONParser.parse(meta.column("skipped")?.string ?? "[]"))?.arrayValue ?? []
        catalog.skipped = skipped.compactMap { item in
            guard let name = item["name"]?.stringValue, let reason = item["reason"]?.stringValue else { return nil }
            return (name, reason)
        }
        return SyncedPrices(catalog: catalog, source: meta.column("source")?.string ?? "",
                            syncedAt: Int64(meta.column("synced_at")?.integer ?? 0))
    }

    public func replaceSyncedPrices(_ prices: SyncedPrices) async throws {
        let skipped = JSONValue.array(prices.catalog.skipped.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) })
        try await transaction {
            _ = try await connection.query("DELETE FROM price_entries")
            for (name, entry) in prices.catalog.entries {
                _ = try await connection.query("INSERT INTO price_entries (name, entry) VALUES (?, ?)",
                                               [.text(name), .text(String(decoding: entry, as: UTF8.self))])
            }
            _ = try await connection.query("""
                INSERT INTO price_sync (id, source, synced_at, skipped) VALUES (1, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET source = excluded.source, synced_at = excluded.synced_at, skipped = excluded.skipped
                """, [.text(prices.source), .integer(Int(prices.syncedAt)), .text(skipped.jsonString)])
        }
    }

    public func pricesSyncedAt() async throws -> Int64 {
        Int64(try await run("SELECT synced_at FROM price_sync WHERE id = 1").first?.column("synced_at")?.integer ?? 0)
    }

    /// A statement outside a transaction. It waits while one is open: on the shared connection
    /// it would otherwise commit or roll back with it (a failed price sync would take an admin
    /// write interleaved with it along).
    func run(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await exclusively { try await connection.query(sql, binds) }
    }

    /// Runs `body` in one transaction, rolled back when it throws; `body` uses `connection`.
    private func transaction(_ body: () async throws -> Void) async throws {
        try await exclusively {
            _ = try await connection.query("BEGIN IMMEDIATE")
            do {
                try await body()
                _ = try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
    }

    /// One user of the shared connection at a time: a statement or a whole transaction.
    private func exclusively<T>(_ body: () async throws -> T) async throws -> T {
        await users.enter()
        do {
            let result = try await body()
            await users.leave()
            return result
        } catch {
            await users.leave()
            throw error
        }
    }
}
