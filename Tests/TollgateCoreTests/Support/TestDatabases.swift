import Foundation
import Logging
import PostgresNIO
@testable import TollgateCore

/// Storage backends for tests: a fresh SQLite file, or a fresh database on the PostgreSQL server
/// named by `TOLLGATE_TEST_POSTGRES_URL` (`./scripts/test` starts one and sets it).
enum TestDatabases {
    static let postgresURL = ProcessInfo.processInfo.environment["TOLLGATE_TEST_POSTGRES_URL"]

    /// The backends to run storage tests on: always SQLite, PostgreSQL when the test command set it up.
    static var backends: [String] { postgresURL == nil ? ["sqlite"] : ["sqlite", "postgres"] }

    /// A storage URL for an empty database of `backend`.
    static func freshURL(_ backend: String) async throws -> String {
        let name = "tg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        guard backend == "postgres" else {
            return "sqlite://" + FileManager.default.temporaryDirectory.appendingPathComponent("\(name)/t.db").path
        }
        guard let base = postgresURL, var parts = URLComponents(string: base), let host = parts.host, let user = parts.user else {
            throw StorageError(message: "TOLLGATE_TEST_POSTGRES_URL is not set")
        }
        let client = PostgresClient(configuration: .init(host: host, port: parts.port ?? 5432, username: user, password: parts.password,
                                                         database: String(parts.path.dropFirst()), tls: .disable),
                                    backgroundLogger: Logger(label: "test"))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        parts.path = "/\(name)"
        return parts.string ?? base
    }
}

/// Runs `body` on `storage`, then closes it on every path: an open connection must not outlive
/// a test (SQLiteNIO asserts when one is released unclosed, taking the whole test process down).
func closing<T>(_ storage: any Storage, _ body: () async throws -> T) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        try? await storage.close()
        throw error
    }
    try await storage.close()
    return result
}
