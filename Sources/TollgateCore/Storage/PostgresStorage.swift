import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// PostgreSQL storage, for several gateway instances sharing keys, prices, budgets and the usage
/// ledger. The same versioned migrations idea as SQLite; budget spend is added atomically in SQL.
public final class PostgresStorage: Storage {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>

    /// Each entry is one migration (statements separated by `;`), applied in order once; never
    /// edit a shipped one, append.
    static let migrations: [String] = [
        """
        CREATE TABLE keys (
            name TEXT NOT NULL UNIQUE, digest TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
            models TEXT NOT NULL DEFAULT '[]', expires_at BIGINT, revoked BOOLEAN NOT NULL DEFAULT FALSE,
            created_at BIGINT NOT NULL
        );
        CREATE TABLE usage_ledger (
            request_id TEXT PRIMARY KEY,
            key_name TEXT, channel TEXT, provider TEXT, model TEXT, dialect TEXT NOT NULL, route TEXT NOT NULL,
            status INTEGER NOT NULL,
            prompt_tokens BIGINT, completion_tokens BIGINT, cache_read_tokens BIGINT, cache_creation_tokens BIGINT,
            audio_tokens BIGINT, reasoning_tokens BIGINT, estimated BOOLEAN NOT NULL DEFAULT FALSE,
            cost_nano BIGINT, currency TEXT, price_name TEXT, price_source TEXT, price_problem TEXT,
            latency_us BIGINT NOT NULL, ttfb_us BIGINT, started_at BIGINT NOT NULL, ended_at BIGINT NOT NULL
        );
        CREATE INDEX usage_ledger_started ON usage_ledger (started_at);
        CREATE INDEX usage_ledger_key ON usage_ledger (key_name, started_at);
        CREATE TABLE price_entries (name TEXT PRIMARY KEY, entry TEXT NOT NULL);
        CREATE TABLE price_sync (id INTEGER PRIMARY KEY CHECK (id = 1), source TEXT NOT NULL, synced_at BIGINT NOT NULL,
                                 skipped TEXT NOT NULL DEFAULT '[]');
        CREATE TABLE budget_spend (
            key_name TEXT NOT NULL, period_start BIGINT NOT NULL, currency TEXT NOT NULL, spent_nano BIGINT NOT NULL,
            PRIMARY KEY (key_name, period_start, currency)
        )
        """,
        """
        CREATE TABLE admin_objects (kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, updated_at BIGINT NOT NULL,
                                    PRIMARY KEY (kind, name))
        """,
        """
        ALTER TABLE keys ADD COLUMN rpm BIGINT;
        ALTER TABLE keys ADD COLUMN tpm BIGINT;
        ALTER TABLE keys ADD COLUMN concurrency BIGINT;
        CREATE TABLE channel_overrides (channel TEXT NOT NULL, kind TEXT NOT NULL, model TEXT NOT NULL, value TEXT NOT NULL,
                                        reason TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (channel, kind, model))
        """,
        // Keys that change and rotate: a budget per stored key, and the replaced secret's grace.
        """
        ALTER TABLE keys ADD COLUMN budget_nano BIGINT;
        ALTER TABLE keys ADD COLUMN budget_currency TEXT;
        ALTER TABLE keys ADD COLUMN budget_period TEXT;
        ALTER TABLE keys ADD COLUMN previous_digest TEXT;
        ALTER TABLE keys ADD COLUMN previous_valid_until BIGINT
        """,
        // Every change to what instances cache is announced on `tollgate_changes` (payload: the
        // table), whichever process made it; listeners apply it at once (see `watchChanges`).
        """
        CREATE OR REPLACE FUNCTION tollgate_announce_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('tollgate_changes', TG_TABLE_NAME); RETURN NULL; END $$;
        CREATE TRIGGER keys_announce AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON keys
            FOR EACH STATEMENT EXECUTE FUNCTION tollgate_announce_change();
        CREATE TRIGGER admin_objects_announce AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON admin_objects
            FOR EACH STATEMENT EXECUTE FUNCTION tollgate_announce_change();
        CREATE TRIGGER price_sync_announce AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON price_sync
            FOR EACH STATEMENT EXECUTE FUNCTION tollgate_announce_change()
        """,
        // Rate limits shared by instances: requests and tokens per key and Unix minute, and each
        // instance's requests in flight (see `syncLimits`).
        """
        CREATE TABLE limit_windows (key_name TEXT NOT NULL, minute BIGINT NOT NULL, requests BIGINT NOT NULL, tokens BIGINT NOT NULL,
                                    PRIMARY KEY (key_name, minute));
        CREATE TABLE limit_in_flight (key_name TEXT NOT NULL, instance TEXT NOT NULL, in_flight BIGINT NOT NULL,
                                      updated_at BIGINT NOT NULL, PRIMARY KEY (key_name, instance))
        """,
        // The model the client asked for, when a fallback (`model`) served the request.
        """
        ALTER TABLE usage_ledger ADD COLUMN fallback_from TEXT
        """,
        // Responses API answers kept for previous_response_id (ResponseStore).
        """
        CREATE TABLE stored_responses (id TEXT PRIMARY KEY, key_name TEXT NOT NULL, created_at BIGINT NOT NULL,
                                       expires_at BIGINT NOT NULL, response TEXT NOT NULL, conversation TEXT NOT NULL);
        CREATE INDEX stored_responses_expiry ON stored_responses (expires_at)
        """,
    ]

    private init(client: PostgresClient, logger: Logger, runner: Task<Void, Never>) {
        self.client = client
        self.logger = logger
        self.runner = runner
    }

    /// TLS as libpq's `sslmode` says: `disable` (the default), `prefer`, `require` (encrypted, the
    /// certificate not checked), `verify-ca` (checked against the roots), `verify-full` (and the
    /// host name); `sslrootcert=FILE` names the roots (else the system's). Nil: no TLS.
    static func tls(_ query: [URLQueryItem]) throws -> (settings: TLSConfiguration, required: Bool)? {
        let mode = query.last { $0.name == "sslmode" }?.value ?? "disable"
        var tls = TLSConfiguration.makeClientConfiguration()
        if let roots = query.last(where: { $0.name == "sslrootcert" })?.value { tls.trustRoots = .file(roots) }
        switch mode {
        case "disable": return nil
        case "prefer", "require": tls.certificateVerification = .none
        case "verify-ca": tls.certificateVerification = .noHostnameVerification
        case "verify-full": tls.certificateVerification = .fullVerification
        default: throw StorageError(message: "sslmode must be disable, prefer, require, verify-ca or verify-full (got '\(mode)')")
        }
        return (tls, mode != "prefer")
    }

    /// One connection made directly before the pool starts, so a refused login or TLS handshake
    /// fails the start with its reason (the pool would retry it quietly).
    private static func probe(_ configuration: PostgresClient.Configuration, host: String, port: Int,
                              tls: (settings: TLSConfiguration, required: Bool)?, logger: Logger) async throws {
        var connectionTLS = PostgresConnection.Configuration.TLS.disable
        if let tls {
            let context = try NIOSSLContext(configuration: tls.settings)
            connectionTLS = tls.required ? .require(context) : .prefer(context)
        }
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: host, port: port, username: configuration.username, password: configuration.password,
                                 database: configuration.database, tls: connectionTLS),
            id: 0, logger: logger)
        try await connection.close()
    }

    /// Connects (`postgres://user:password@host:port/database[?sslmode=...]`) and migrates.
    public static func open(url: String, logger: Logger) async throws -> PostgresStorage {
        guard let parts = URLComponents(string: url), ["postgres", "postgresql"].contains(parts.scheme ?? ""),
              let host = parts.host, let user = parts.user else {
            throw StorageError(message: "storage URL must look like postgres://user:password@host:5432/database")
        }
        let database = parts.path.hasPrefix("/") ? String(parts.path.dropFirst()) : parts.path
        let tls = try tls(parts.queryItems ?? [])
        var configuration = PostgresClient.Configuration(host: host, port: parts.port ?? 5432, username: user,
                                                         password: parts.password, database: database.isEmpty ? nil : database,
                                                         tls: tls.map { $0.required ? .require($0.settings) : .prefer($0.settings) } ?? .disable)
        do {
            try await probe(configuration, host: host, port: parts.port ?? 5432, tls: tls, logger: logger)
        } catch {
            throw StorageError(message: "cannot connect to \(host):\(parts.port ?? 5432)/\(database): \(String(reflecting: error))")
        }
        // The hot path never waits on storage, so a few connections serve an instance; several
        // instances then stay well under the server's max_connections.
        configuration.options.maximumConnections = 8
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        let storage = PostgresStorage(client: client, logger: logger, runner: runner)
        do {
            try await storage.migrate()
        } catch {
            runner.cancel()
            throw StorageError(message: "cannot use \(host):\(parts.port ?? 5432)/\(database): \(String(reflecting: error))")
        }
        return storage
    }

    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One instance migrates at a time; the others wait for the lock, then see the new version.
            try await connection.query("SELECT pg_advisory_xact_lock(7421)", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)
                """, logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                                                logger: logger).decode(Int.self) {
                current = version
            }
            for (index, sql) in Self.migrations.enumerated() where index + 1 > current {
                for statement in Self.statements(sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migrations (version, applied_at) VALUES (\(index + 1), \(unixSeconds()))",
                                           logger: logger)
            }
        }
    }

    /// A migration's statements: split at `;`, except inside `$$`-quoted function bodies.
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        for (index, piece) in sql.components(separatedBy: "$$").enumerated() {
            if index > 0 { current += "$$" }
            guard index % 2 == 0 else { current += piece; continue }  // inside a body
            let parts = piece.components(separatedBy: ";")
            for (n, part) in parts.enumerated() {
                current += part
                if n < parts.count - 1 {
                    statements.append(current)
                    current = ""
                }
            }
        }
        statements.append(current)
        return statements.filter { !$0.allSatisfy(\.isWhitespace) }
    }

    public var announcesChanges: Bool { true }

    /// Listens on `tollgate_changes` on a connection of its own until cancelled or the
    /// connection fails.
    public func watchChanges(listening: @Sendable () async -> Void, changed: @Sendable (String) async -> Void) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: "tollgate_changes") { notifications in
                await listening()
                for try await notification in notifications { await changed(notification.payload) }
            }
        }
    }

    /// An instance that has not synced for this long no longer counts as having requests in flight.
    static let inFlightTTLMillis: Int64 = 10_000

    public func syncLimits(_ report: SharedLimitReport) async throws -> [String: SharedLimitTotals]? {
        let now = report.at
        let keys = Array(report.inFlight.keys)
        return try await client.withConnection { connection in
            if !report.deltas.isEmpty {
                try await connection.query("""
                    INSERT INTO limit_windows (key_name, minute, requests, tokens)
                    SELECT * FROM UNNEST(\(report.deltas.map(\.key))::text[], \(report.deltas.map(\.minute))::bigint[],
                                         \(report.deltas.map(\.requests))::bigint[], \(report.deltas.map(\.tokens))::bigint[])
                    ON CONFLICT (key_name, minute) DO UPDATE
                    SET requests = limit_windows.requests + excluded.requests, tokens = limit_windows.tokens + excluded.tokens
                    """, logger: logger)
            }
            try await connection.query("""
                INSERT INTO limit_in_flight (key_name, instance, in_flight, updated_at)
                SELECT k, \(report.instance), n, \(now) FROM UNNEST(\(keys)::text[], \(keys.map { report.inFlight[$0] ?? 0 })::bigint[]) AS t(k, n)
                ON CONFLICT (key_name, instance) DO UPDATE SET in_flight = excluded.in_flight, updated_at = excluded.updated_at
                """, logger: logger)
            var totals: [String: SharedLimitTotals] = [:]
            let windows = try await connection.query("""
                SELECT key_name, minute, requests, tokens FROM limit_windows WHERE key_name = ANY(\(keys)::text[]) AND minute >= \(report.minute - 1)
                """, logger: logger)
            for try await (key, minute, requests, tokens) in windows.decode((String, Int64, Int64, Int64).self) {
                if minute == report.minute {
                    totals[key, default: SharedLimitTotals()].requests = requests
                    totals[key, default: SharedLimitTotals()].tokens = tokens
                } else if minute == report.minute - 1 {
                    totals[key, default: SharedLimitTotals()].previousRequests = requests
                    totals[key, default: SharedLimitTotals()].previousTokens = tokens
                }
            }
            let flights = try await connection.query("""
                SELECT key_name, SUM(in_flight)::bigint FROM limit_in_flight
                WHERE key_name = ANY(\(keys)::text[]) AND instance <> \(report.instance) AND updated_at > \(now - Self.inFlightTTLMillis)
                GROUP BY key_name
                """, logger: logger)
            for try await (key, count) in flights.decode((String, Int64).self) { totals[key, default: SharedLimitTotals()].othersInFlight = count }
            if report.minute % 10 == 0 {  // old windows and gone instances, now and then
                try await connection.query("DELETE FROM limit_windows WHERE minute < \(report.minute - 2)", logger: logger)
                try await connection.query("DELETE FROM limit_in_flight WHERE updated_at < \(now - 60_000)", logger: logger)
            }
            return totals
        }
    }

    public func close() async throws { runner.cancel() }

    // MARK: Keys

    public func keys() async throws -> [StoredKey] {
        var keys: [StoredKey] = []
        let rows = try await client.query("""
            SELECT name, digest, prefix, models, expires_at, revoked, created_at, rpm, tpm, concurrency,
                   budget_nano, budget_currency, budget_period, previous_digest, previous_valid_until FROM keys ORDER BY created_at
            """, logger: logger)
        for try await (name, digest, prefix, models, expires, revoked, created, rpm, tpm, concurrency,
                       budgetNano, currency, period, previousDigest, previousUntil)
            in rows.decode((String, String, String, String, Int64?, Bool, Int64, Int64?, Int64?, Int64?,
                            Int64?, String?, String?, String?, Int64?).self) {
            let patterns = (try? JSONParser.parse(models))?.arrayValue?.compactMap(\.stringValue) ?? []
            var key = StoredKey(name: name, digestHex: digest, prefix: prefix, models: patterns, expiresAt: expires,
                                revoked: revoked, createdAt: created,
                                limits: KeyLimits(rpm: rpm.map { Int($0) }, tpm: tpm.map { Int($0) }, concurrency: concurrency.map { Int($0) }),
                                budget: Budget(storedNano: budgetNano, currency: currency, period: period))
            key.previousDigestHex = previousDigest
            key.previousValidUntil = previousUntil
            keys.append(key)
        }
        return keys
    }

    public func insert(_ key: StoredKey) async throws {
        let c = Changeable(key)
        try await client.query("""
            INSERT INTO keys (name, digest, prefix, models, expires_at, revoked, created_at, rpm, tpm, concurrency,
                              budget_nano, budget_currency, budget_period, previous_digest, previous_valid_until)
            VALUES (\(key.name), \(key.digestHex), \(key.prefix), \(c.models), \(key.expiresAt), \(key.revoked), \(key.createdAt),
                    \(c.rpm), \(c.tpm), \(c.concurrency), \(key.budget?.amountNano), \(key.budget?.currency), \(c.period),
                    \(key.previousDigestHex), \(key.previousValidUntil))
            """, logger: logger)
    }

    public func updateKey(_ key: StoredKey, ifDigest digestHex: String) async throws -> Bool {
        let c = Changeable(key)
        let rows = try await client.query("""
            UPDATE keys SET digest = \(key.digestHex), prefix = \(key.prefix), models = \(c.models), expires_at = \(key.expiresAt),
                rpm = \(c.rpm), tpm = \(c.tpm), concurrency = \(c.concurrency), budget_nano = \(key.budget?.amountNano),
                budget_currency = \(key.budget?.currency), budget_period = \(c.period), previous_digest = \(key.previousDigestHex),
                previous_valid_until = \(key.previousValidUntil)
            WHERE name = \(key.name) AND digest = \(digestHex) RETURNING name
            """, logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    /// A key's columns in the types the statements bind.
    private struct Changeable {
        var models: String
        var rpm, tpm, concurrency: Int64?
        var period: String?
        init(_ key: StoredKey) {
            models = JSONValue.array(key.models.map(JSONValue.string)).jsonString
            rpm = key.limits.rpm.map(Int64.init)
            tpm = key.limits.tpm.map(Int64.init)
            concurrency = key.limits.concurrency.map(Int64.init)
            period = key.budget?.period.rawValue
        }
    }

    public func revokeKey(named name: String) async throws -> Bool {
        let rows = try await client.query("UPDATE keys SET revoked = TRUE WHERE name = \(name) RETURNING name", logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    public func channelOverrides() async throws -> [ChannelOverride] {
        var overrides: [ChannelOverride] = []
        let rows = try await client.query("SELECT channel, kind, model, value, reason, created_at FROM channel_overrides ORDER BY created_at",
                                          logger: logger)
        for try await (channel, kind, model, value, reason, created) in rows.decode((String, String, String, String, String, Int64).self) {
            guard let kind = ChannelOverride.Kind(rawValue: kind) else { continue }
            overrides.append(ChannelOverride(channel: channel, kind: kind, model: model, value: value, reason: reason, createdAt: created))
        }
        return overrides
    }

    public func saveChannelOverride(_ o: ChannelOverride) async throws {
        try await client.query("""
            INSERT INTO channel_overrides (channel, kind, model, value, reason, created_at)
            VALUES (\(o.channel), \(o.kind.rawValue), \(o.model), \(o.value), \(o.reason), \(o.createdAt))
            ON CONFLICT (channel, kind, model) DO UPDATE SET value = excluded.value, reason = excluded.reason, created_at = excluded.created_at
            """, logger: logger)
    }

    public func deleteKey(named name: String) async throws {
        try await client.query("DELETE FROM keys WHERE name = \(name)", logger: logger)
    }

    // MARK: Usage ledger

    public func appendUsage(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        try await client.withTransaction(logger: logger) { connection in
            for r in records {
                let audio = r.usage.audioPrompt.map { $0.addingSaturated(r.usage.audioCompletion ?? 0) } ?? r.usage.audioCompletion
                let latency = r.latencyNanos / 1000
                let ended = r.startedAtMillis + latency / 1000
                try await connection.query("""
                    INSERT INTO usage_ledger (request_id, key_name, channel, provider, model, dialect, route, status,
                        prompt_tokens, completion_tokens, cache_read_tokens, cache_creation_tokens, audio_tokens, reasoning_tokens,
                        estimated, cost_nano, currency, price_name, price_source, price_problem, latency_us, ttfb_us, started_at, ended_at,
                        fallback_from)
                    VALUES (\(r.requestID), \(r.keyName), \(r.channel), \(r.provider), \(r.model), \(r.dialect), \(r.route), \(r.status),
                        \(r.usage.prompt), \(r.usage.completion), \(r.usage.cacheRead), \(r.usage.cacheCreation), \(audio),
                        \(r.usage.reasoning), \(r.usage.estimated), \(r.bill.cost?.nanoUnits), \(r.bill.cost?.currency),
                        \(r.bill.priceName), \(r.bill.priceSource), \(r.bill.problem), \(latency), \(r.firstByteNanos.map { $0 / 1000 }),
                        \(r.startedAtMillis), \(ended), \(r.fallbackFrom))
                    ON CONFLICT (request_id) DO NOTHING
                    """, logger: logger)
            }
        }
    }

    public func usageReport(_ query: UsageQuery) async throws -> [UsageRow] {
        func column(_ grouping: UsageQuery.Grouping) -> String {
            switch grouping {
            case .key: "COALESCE(key_name, '')"
            case .model: "COALESCE(model, '')"
            case .channel: "COALESCE(channel, '')"
            case .day: "to_char(to_timestamp(started_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            }
        }
        // SUM of a BIGINT is an exact NUMERIC: held within BIGINT, so the ledger's absurd counts
        // (kept as upstreams reported them) cannot fail the report's cast.
        func clampedSum(_ column: String) -> String {
            "LEAST(GREATEST(COALESCE(SUM(\(column)), 0), -9223372036854775808), 9223372036854775807)::BIGINT"
        }
        var sql = PostgresQuery(unsafeSQL: """
            SELECT \(column(query.groupBy)) AS grp, \(query.splitBy.map(column) ?? "NULL::TEXT") AS spl, COALESCE(currency, 'USD') AS cur,
                   COUNT(*)::BIGINT, \(clampedSum("prompt_tokens")), \(clampedSum("completion_tokens")),
                   \(clampedSum("cache_read_tokens")), \(clampedSum("cache_creation_tokens")), \(clampedSum("cost_nano")),
                   SUM(CASE WHEN cost_nano IS NULL AND prompt_tokens IS NOT NULL THEN 1 ELSE 0 END)::BIGINT
            FROM usage_ledger WHERE started_at >= $1 AND started_at < $2 AND ($3::TEXT IS NULL OR key_name = $3)
            GROUP BY grp, spl, cur ORDER BY grp, spl, cur
            """)
        sql.binds.append(query.from ?? Int64.min)
        sql.binds.append(query.to ?? Int64.max)
        sql.binds.append(query.key)
        var rows: [UsageRow] = []
        let result = try await client.query(sql, logger: logger)
        for try await (grp, spl, cur, n, p, c, cr, cc, cost, unpriced)
            in result.decode((String, String?, String, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            rows.append(UsageRow(group: grp, split: spl, currency: cur, requests: n, promptTokens: p, completionTokens: c, cacheReadTokens: cr,
                                 cacheCreationTokens: cc, costNano: cost, unpriced: unpriced))
        }
        return rows
    }

    public func recentRequests(_ query: RecentRequestsQuery) async throws -> [LedgerRow] {
        let low = query.statuses.lowerBound, high = query.statuses.upperBound, limit = query.limit
        let result = try await client.query("""
            SELECT request_id, started_at, key_name, route, model, channel, status, prompt_tokens, completion_tokens, estimated,
                   cost_nano, currency, latency_us
            FROM usage_ledger WHERE (route NOT LIKE '/%' OR route LIKE '/v1%') AND status >= \(low) AND status < \(high) AND (\(query.key)::TEXT IS NULL OR key_name = \(query.key))
                AND (\(query.model)::TEXT IS NULL OR model = \(query.model))
            ORDER BY started_at DESC, request_id DESC LIMIT \(limit)
            """, logger: logger)
        var rows: [LedgerRow] = []
        for try await (id, started, key, route, model, channel, status, prompt, completion, estimated, cost, currency, latency)
            in result.decode((String, Int64, String?, String, String?, String?, Int, Int64?, Int64?, Bool, Int64?, String?, Int64).self) {
            rows.append(LedgerRow(requestID: id, startedAt: started, key: key, route: route, model: model, channel: channel, status: status,
                                  promptTokens: prompt, completionTokens: completion, estimated: estimated, costNano: cost,
                                  currency: currency, latencyMicros: latency))
        }
        return rows
    }

    // MARK: Budgets

    public func addBudgetSpend(key: String, periodStart: Int64, currency: String, nano: Int64) async throws -> Int64 {
        let rows = try await client.query("""
            INSERT INTO budget_spend (key_name, period_start, currency, spent_nano) VALUES (\(key), \(periodStart), \(currency), \(nano))
            ON CONFLICT (key_name, period_start, currency) DO UPDATE SET spent_nano = budget_spend.spent_nano + excluded.spent_nano
            RETURNING spent_nano
            """, logger: logger)
        for try await total in rows.decode(Int64.self) { return total }
        return 0
    }

    public func budgetSpent(key: String, periodStart: Int64, currency: String) async throws -> Int64 {
        let rows = try await client.query("""
            SELECT spent_nano FROM budget_spend WHERE key_name = \(key) AND period_start = \(periodStart) AND currency = \(currency)
            """, logger: logger)
        for try await total in rows.decode(Int64.self) { return total }
        return 0
    }

    // MARK: Admin objects

    public func objects(kind: StoredObject.Kind) async throws -> [StoredObject] {
        var objects: [StoredObject] = []
        let rows = try await client.query("SELECT name, body, updated_at FROM admin_objects WHERE kind = \(kind.rawValue) ORDER BY name",
                                          logger: logger)
        for try await (name, body, at) in rows.decode((String, String, Int64).self) {
            objects.append(StoredObject(kind: kind, name: name, body: Array(body.utf8), updatedAt: at))
        }
        return objects
    }

    public func putObject(_ object: StoredObject) async throws {
        let body = String(decoding: object.body, as: UTF8.self)
        try await client.query("""
            INSERT INTO admin_objects (kind, name, body, updated_at) VALUES (\(object.kind.rawValue), \(object.name), \(body), \(object.updatedAt))
            ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
            """, logger: logger)
    }

    public func deleteObject(kind: StoredObject.Kind, name: String) async throws -> Bool {
        let rows = try await client.query("DELETE FROM admin_objects WHERE kind = \(kind.rawValue) AND name = \(name) RETURNING name",
                                          logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    public func objectsStamp() async throws -> String {
        for try await (n, at) in try await client.query("SELECT COUNT(*)::BIGINT, COALESCE(MAX(updated_at), 0)::BIGINT FROM admin_objects",
                                                        logger: logger).decode((Int64, Int64).self) {
            return "\(n):\(at)"
        }
        return "0:0"
    }

    // MARK: Prices

    public func syncedPrices() async throws -> SyncedPrices? {
        var meta: (String, Int64, String)?
        for try await row in try await client.query("SELECT source, synced_at, skipped FROM price_sync WHERE id = 1",
                                                    logger: logger).decode((String, Int64, String).self) {
            meta = row
        }
        guard let (source, syncedAt, skippedJSON) = meta else { return nil }
        var catalog = PriceCatalog()
        for try await (name, entry) in try await client.query("SELECT name, entry FROM price_entries",
                                                              logger: logger).decode((String, String).self) {
            catalog.entries[name] = Array(entry.utf8)
        }
        catalog.skipped = ((try? JSONParser.parse(skippedJSON))?.arrayValue ?? []).compactMap { item in
            guard let name = item["name"]?.stringValue, let reason = item["reason"]?.stringValue else { return nil }
            return (name, reason)
        }
        return SyncedPrices(catalog: catalog, source: source, syncedAt: syncedAt)
    }

    public func replaceSyncedPrices(_ prices: SyncedPrices) async throws {
        let skipped = JSONValue.array(prices.catalog.skipped.map { .object(["name": .string($0.name), "reason": .string($0.reason)]) }).jsonString
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("DELETE FROM price_entries", logger: logger)
            for (name, entry) in prices.catalog.entries {
                let text = String(decoding: entry, as: UTF8.self)
                try await connection.query("INSERT INTO price_entries (name, entry) VALUES (\(name), \(text))", logger: logger)
            }
            try await connection.query("""
                INSERT INTO price_sync (id, source, synced_at, skipped) VALUES (1, \(prices.source), \(prices.syncedAt), \(skipped))
                ON CONFLICT (id) DO UPDATE SET source = excluded.source, synced_at = excluded.synced_at, skipped = excluded.skipped
                """, logger: logger)
        }
    }

    public func pricesSyncedAt() async throws -> Int64 {
        for try await at in try await client.query("SELECT synced_at FROM price_sync WHERE id = 1", logger: logger).decode(Int64.self) {
            return at
        }
        return 0
    }
}

public struct StorageError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Opens the backend a storage URL names: `sqlite://...` (or a path) or `postgres://...`.
public enum StorageOpener {
    public static func open(url: String, logger: Logger) async throws -> any Storage {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresStorage.open(url: url, logger: logger)
        }
        return try await SQLiteStorage.open(url: url, logger: logger)
    }
}
