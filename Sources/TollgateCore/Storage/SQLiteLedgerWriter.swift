import CSQLite3
import NIOPosix
import Synchronization

/// Writes the usage ledger's rows to SQLite on a connection of its own, through statements
/// prepared at open and reused: one inserts `rowsAtOnce` rows (most of a batch goes through it:
/// a statement's run opens and closes its cursors once, a tenth of a row's cost when it was one
/// row), one a single row (the rest). The rows' texts are copied into one reused buffer as they are
/// filled in and bound in place (SQLITE_STATIC): a row costs no allocation and no SQL parse. (Through
/// SQLiteNIO, each bound text was copied twice, by Swift and by SQLite: a quarter of a chat
/// request's allocations.) WAL mode lets it write while the storage's connection reads. It must
/// go through the same SQLite library as SQLiteNIO (see Sources/CSQLite3/shim.h).
final class SQLiteLedgerWriter: Sendable {
    /// SQLite's handles are used by one thread at a time: the connection is opened without
    /// SQLite's own mutex, this one guards it.
    private let connection: Mutex<Connection>

    /// The values of the rows one insert binds, in column order. A text's bytes are copied once,
    /// as it is appended, into one buffer where they are bound (a `String` kept until the bind was
    /// retained and released at each step: a fifth of a chat request's reference counting).
    struct Values {
        fileprivate enum Value { case null, integer(Int64), text(start: Int, count: Int) }
        fileprivate var values: [Value] = []
        fileprivate var texts: [UInt8] = []

        mutating func append(_ n: Int64?) { values.append(n.map(Value.integer) ?? .null) }

        mutating func append(_ s: String?) {
            guard let s else { return values.append(.null) }
            let start = texts.count
            // A native String's bytes are copied in one go (through its UTF8View, a byte at a time).
            if s.utf8.withContiguousStorageIfAvailable({ texts.append(contentsOf: $0) }) == nil { texts.append(contentsOf: s.utf8) }
            values.append(.text(start: start, count: texts.count - start))
        }

        fileprivate mutating func removeAll() {
            values.removeAll(keepingCapacity: true)
            texts.removeAll(keepingCapacity: true)
        }
    }

    /// Rows a statement inserts at once (times the columns, far under SQLite's 32,766 parameters).
    static let rowsAtOnce = 16

    /// Opens `path` (an existing, migrated database) and prepares `insert` (`INSERT ... INTO
    /// table (columns)`) with the VALUES of one row and of `rowsAtOnce`, whose `columns`
    /// parameters a row's values fill in order.
    init(path: String, insert: String, columns: Int) throws {
        connection = Mutex(try Connection(path: path, insert: insert, columns: columns))
    }

    /// Writes `rows` in one transaction on a thread of SQLite's pool (blocking calls never run on
    /// an event loop); nothing is written when one fails.
    func append<Row: Sendable>(_ rows: [Row], values: @escaping @Sendable (Row, inout Values) -> Void) async throws {
        try await NIOThreadPool.singleton.runIfActive { [self] in
            try connection.withLock { try $0.append(rows, values: values) }
        }
    }

    func close() { connection.withLock { $0.close() } }

    struct Connection: ~Copyable {
        private var db: OpaquePointer?
        private var insert: OpaquePointer?
        private var insertMany: OpaquePointer?
        /// The current rows' values, reused.
        private var values = Values()

        init(path: String, insert sql: String, columns: Int) throws {
            let opened = sqlite_nio_sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
            guard opened == SQLITE_OK, let db else { throw SQLiteLedgerError(code: opened, db: db, doing: "open \(path)") }
            sqlite_nio_sqlite3_busy_timeout(db, 5000)
            insert = try Self.prepare(sql, rows: 1, columns: columns, on: db)
            insertMany = try Self.prepare(sql, rows: rowsAtOnce, columns: columns, on: db)
        }

        private static func prepare(_ insert: String, rows: Int, columns: Int, on db: OpaquePointer) throws -> OpaquePointer? {
            let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
            let sql = insert + " VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
            var statement: OpaquePointer?
            let prepared = sqlite_nio_sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard prepared == SQLITE_OK else { throw SQLiteLedgerError(code: prepared, db: db, doing: "prepare the ledger's insert") }
            return statement
        }

        deinit { Self.release(insert, insertMany, db) }

        mutating func close() {
            Self.release(insert, insertMany, db)
            insert = nil
            insertMany = nil
            db = nil
        }

        /// All calls take nil as a no-op: a closed connection's deinit releases nothing twice.
        private static func release(_ insert: OpaquePointer?, _ insertMany: OpaquePointer?, _ db: OpaquePointer?) {
            sqlite_nio_sqlite3_finalize(insert)
            sqlite_nio_sqlite3_finalize(insertMany)
            sqlite_nio_sqlite3_close_v2(db)
        }

        mutating func append<Row>(_ rows: [Row], values fill: (Row, inout Values) -> Void) throws {
            guard let db, let insert, let insertMany else {
                throw SQLiteLedgerError(code: SQLITE_MISUSE, db: nil, doing: "write to a closed ledger")
            }
            try Self.exec("BEGIN IMMEDIATE", on: db)
            do {
                var next = rows.startIndex
                while next < rows.endIndex {
                    let count = rows.endIndex - next >= rowsAtOnce ? rowsAtOnce : 1
                    values.removeAll()
                    for row in rows[next..<next + count] { fill(row, &values) }
                    try step(count == 1 ? insert : insertMany, on: db)
                    next += count
                }
                try Self.exec("COMMIT", on: db)
            } catch {
                _ = sqlite_nio_sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                throw error
            }
        }

        /// Binds the current rows' values (their texts where they lie) and runs the insert.
        private func step(_ insert: OpaquePointer, on db: OpaquePointer) throws {
            let done: Int32 = values.texts.withUnsafeBufferPointer { bytes in
                for (index, value) in values.values.enumerated() {
                    let column = Int32(index + 1), bound: Int32
                    switch value {
                    case .null: continue  // every parameter is NULL until bound (see clear_bindings below)
                    case .integer(let n): bound = sqlite_nio_sqlite3_bind_int64(insert, column, n)
                    case .text(let start, let count):
                        // A null pointer would bind NULL: an empty text points at a static byte.
                        let at = count == 0 ? UnsafeRawPointer(SQLiteLedgerWriter.empty.utf8Start) : UnsafeRawPointer(bytes.baseAddress! + start)
                        bound = sqlite_nio_sqlite3_bind_text64(insert, column, at, UInt64(count), nil, UInt8(SQLITE_UTF8))  // nil: SQLITE_STATIC
                    }
                    guard bound == SQLITE_OK else { sqlite_nio_sqlite3_clear_bindings(insert); return bound }
                }
                let stepped = sqlite_nio_sqlite3_step(insert)
                sqlite_nio_sqlite3_reset(insert)
                sqlite_nio_sqlite3_clear_bindings(insert)  // the bound pointers die with this closure
                return stepped
            }
            guard done == SQLITE_DONE else { throw SQLiteLedgerError(code: done, db: db, doing: "insert ledger rows") }
        }

        private static func exec(_ sql: String, on db: OpaquePointer) throws {
            let code = sqlite_nio_sqlite3_exec(db, sql, nil, nil, nil)
            guard code == SQLITE_OK else { throw SQLiteLedgerError(code: code, db: db, doing: sql) }
        }
    }

    fileprivate static let empty: StaticString = ""
}

/// A failed ledger write, with SQLite's own words.
struct SQLiteLedgerError: Error, CustomStringConvertible {
    let description: String

    init(code: Int32, db: OpaquePointer?, doing: String) {
        let message = db.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite_nio_sqlite3_errstr(code))
        description = "SQLite ledger: could not \(doing): \(message) (code \(code))"
    }
}
