import GRDB
import GRDBSQLite

/// A plain SQLite connection for the few quick looks made before (or beside) the stores'
/// GRDB pools: checking what a file is before opening it, the scratch schema it is checked
/// against, and the databases' watch. Setting up a GRDB queue (a dispatch queue, its
/// functions and checks) cost more than these looks themselves: 1–2 ms each, several
/// times at every console start. Errors are GRDB's `DatabaseError`, as the pools' are.
final class QuickConnection {
    private let db: OpaquePointer

    /// Opens `path` read-only (a file), or a scratch database in memory (`nil`).
    init(readOnly path: String?, busyTimeoutMillis: Int = 0) throws(DatabaseError) {
        var db: OpaquePointer?
        let flags = path == nil ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY : SQLITE_OPEN_READONLY
        let opened = sqlite3_open_v2(path ?? ":memory:", &db, flags, nil)
        guard opened == SQLITE_OK, let db else {
            let error = Self.error(opened, db)
            sqlite3_close_v2(db)
            throw error
        }
        self.db = db
        sqlite3_extended_result_codes(db, 1)
        if busyTimeoutMillis > 0 { sqlite3_busy_timeout(db, Int32(clamping: busyTimeoutMillis)) }
    }

    deinit { sqlite3_close_v2(db) }

    /// Runs `sql` (one or more statements) for its effect.
    func execute(_ sql: String) throws(DatabaseError) {
        let result = sqlite3_exec(db, sql, nil, nil, nil)
        guard result == SQLITE_OK else { throw Self.error(result, db) }
    }

    /// The first column of each row `sql` answers, read by `value`; `argument` binds `?`.
    func column<Value>(_ sql: String, argument: String? = nil, _ value: (OpaquePointer, Int32) -> Value) throws(DatabaseError) -> [Value] {
        let statement = try prepare(sql)
        defer { sqlite3_finalize(statement) }
        if let argument {
            // SQLITE_TRANSIENT: SQLite copies the text, which lives only for this call.
            sqlite3_bind_text(statement, 1, argument, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        }
        return try rows(of: statement, value)
    }

    /// A statement to run again and again (`rows(of:)`); the caller finalizes it.
    func prepare(_ sql: String) throws(DatabaseError) -> OpaquePointer {
        var statement: OpaquePointer?
        let prepared = sqlite3_prepare_v2(db, sql, -1, &statement, nil)
        guard prepared == SQLITE_OK, let statement else { throw Self.error(prepared, db) }
        return statement
    }

    /// Steps `statement` to its end and resets it.
    func rows<Value>(of statement: OpaquePointer, _ value: (OpaquePointer, Int32) -> Value) throws(DatabaseError) -> [Value] {
        defer { sqlite3_reset(statement) }
        var values: [Value] = []
        while true {
            let stepped = sqlite3_step(statement)
            if stepped == SQLITE_DONE { return values }
            guard stepped == SQLITE_ROW else { throw Self.error(stepped, db) }
            values.append(value(statement, 0))
        }
    }

    static func integer(_ statement: OpaquePointer, _ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    static func text(_ statement: OpaquePointer, _ column: Int32) -> String {
        sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
    }

    /// A SQLite result code as GRDB's error, with the connection's message.
    static func error(_ code: Int32, _ db: OpaquePointer?) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory")
    }
}
