import Foundation
import Logging
import SQLiteNIO

/// SQLite storage in one file (WAL mode), with versioned migrations applied at open.
public final class SQLiteStorage: Storage {
    let connection: SQLiteConnection
    public let path: String

    /// Each entry is one migration, applied in order once; never edit a shipped one, append.
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
    ]

    private init(connection: SQLiteConnection, path: String) {
        self.connection = connection
        self.path = path
    }

    /// Opens (creating folders and file as needed) and migrates. `url` is `sqlite:///abs/path`,
    /// `sqlite://relative/path` or a plain path.
    public static func open(url: String, logger: Logger) async throws -> SQLiteStorage {
        let path = url.hasPrefix("sqlite://") ? String(url.dropFirst("sqlite://".count)) : url
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        let storage = SQLiteStorage(connection: connection, path: path)
        do {
            try await storage.migrate()
        } catch {
            try? await connection.close()
            throw error
        }
        return storage
    }

    func migrate() async throws {
        _ = try await connection.query("PRAGMA journal_mode=WAL")
        _ = try await connection.query("PRAGMA busy_timeout=5000")
        _ = try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        let rows = try await connection.query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        let current = rows.first?.column("v")?.integer ?? 0
        for (index, sql) in Self.migrations.enumerated() where index + 1 > current {
            _ = try await connection.query("BEGIN")
            do {
                _ = try await connection.query(sql)
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
            try await connection.query("SELECT MAX(version) AS v FROM schema_migrations").first?.column("v")?.integer ?? 0
        }
    }

    public func keys() async throws -> [StoredKey] {
        try await connection.query("SELECT name, digest, prefix, models, expires_at, revoked, created_at FROM keys ORDER BY created_at")
            .map { row in
                let models = (try? JSONParser.parse(row.column("models")?.string ?? "[]"))?.arrayValue?.compactMap(\.stringValue) ?? []
                return StoredKey(name: row.column("name")?.string ?? "", digestHex: row.column("digest")?.string ?? "",
                                 prefix: row.column("prefix")?.string ?? "", models: models,
                                 expiresAt: row.column("expires_at")?.integer.map(Int64.init),
                                 revoked: (row.column("revoked")?.integer ?? 0) != 0,
                                 createdAt: Int64(row.column("created_at")?.integer ?? 0))
            }
    }

    public func insert(_ key: StoredKey) async throws {
        let models = JSONValue.array(key.models.map(JSONValue.string)).jsonString
        _ = try await connection.query(
            "INSERT INTO keys (name, digest, prefix, models, expires_at, revoked, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [.text(key.name), .text(key.digestHex), .text(key.prefix), .text(models),
             key.expiresAt.map { .integer(Int($0)) } ?? .null, .integer(key.revoked ? 1 : 0), .integer(Int(key.createdAt))])
    }

    public func deleteKey(named name: String) async throws {
        _ = try await connection.query("DELETE FROM keys WHERE name = ?", [.text(name)])
    }

    public func close() async throws { try await connection.close() }
}
