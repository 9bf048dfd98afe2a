// The few functions of SQLite the usage ledger's writer calls, from the copy SQLiteNIO bundles
// (its symbols carry a sqlite_nio_ prefix, and so do the calls).
// It must be that copy: two SQLite libraries in one process do not see each other's POSIX locks
// (SQLite tracks them per library), so two connections to one database through two copies write
// over each other (sqlite.org/howtocorrupt.html, 2.2.1: an admin write was lost that way).
// They are declared here rather than by including SQLiteNIO's header, which its package keeps
// private. The handles are opaque types of our own name.
#ifndef TOLLGATE_CSQLITE3_SHIM_H
#define TOLLGATE_CSQLITE3_SHIM_H

typedef struct tollgate_sqlite3 tollgate_sqlite3;
typedef struct tollgate_sqlite3_stmt tollgate_sqlite3_stmt;

#define SQLITE_OK 0
#define SQLITE_MISUSE 21
#define SQLITE_DONE 101
#define SQLITE_OPEN_READWRITE 0x00000002
#define SQLITE_OPEN_NOMUTEX 0x00008000
#define SQLITE_PREPARE_PERSISTENT 0x01
#define SQLITE_UTF8 1

int sqlite_nio_sqlite3_open_v2(const char *filename, tollgate_sqlite3 **db, int flags, const char *vfs);
int sqlite_nio_sqlite3_close_v2(tollgate_sqlite3 *db);
int sqlite_nio_sqlite3_busy_timeout(tollgate_sqlite3 *db, int milliseconds);
int sqlite_nio_sqlite3_exec(tollgate_sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *argument,
                 char **error);
int sqlite_nio_sqlite3_prepare_v3(tollgate_sqlite3 *db, const char *sql, int bytes, unsigned int flags, tollgate_sqlite3_stmt **statement,
                       const char **tail);
int sqlite_nio_sqlite3_finalize(tollgate_sqlite3_stmt *statement);
int sqlite_nio_sqlite3_bind_null(tollgate_sqlite3_stmt *statement, int index);
int sqlite_nio_sqlite3_bind_int64(tollgate_sqlite3_stmt *statement, int index, long long value);
// destructor NULL is SQLITE_STATIC: SQLite reads the bytes in place until the next step or reset.
int sqlite_nio_sqlite3_bind_text64(tollgate_sqlite3_stmt *statement, int index, const char *text, unsigned long long bytes,
                        void (*destructor)(void *), unsigned char encoding);
int sqlite_nio_sqlite3_step(tollgate_sqlite3_stmt *statement);
int sqlite_nio_sqlite3_reset(tollgate_sqlite3_stmt *statement);
int sqlite_nio_sqlite3_clear_bindings(tollgate_sqlite3_stmt *statement);
const char *sqlite_nio_sqlite3_errmsg(tollgate_sqlite3 *db);
const char *sqlite_nio_sqlite3_errstr(int code);

#endif
