import Foundation
import GRDB
import GRDBSQLite
import SwitchboardCore

/// Which of the contract's two databases a file is, and how it is recognised.
public enum DatabaseRole: String, Sendable {
    case audit, outbox

    /// `PRAGMA application_id`: 'SBAU' and 'SBOB' in ASCII.
    public var applicationID: Int32 {
        switch self {
        case .audit: 0x5342_4155
        case .outbox: 0x5342_4F42
        }
    }

    var migrations: [String] {
        switch self {
        case .audit: AuditSchema.migrations
        case .outbox: OutboxSchema.migrations
        }
    }

    /// The tables the first `version` migrations create (lowercased names): the word after
    /// each `CREATE TABLE`. Scanned by hand: compiling a regular expression (ICU) took
    /// a millisecond and a half of every console start, for each database opened.
    func tables(through version: Int) -> Set<String> {
        var found: Set<String> = []
        for sql in migrations.prefix(version) {
            let text = Array(sql.lowercased().utf8)
            let keyword = Array("create table".utf8)
            var at = 0
            while at + keyword.count < text.count {
                guard text[at..<(at + keyword.count)].elementsEqual(keyword) else { at += 1; continue }
                var start = at + keyword.count
                let spaced = start < text.count && Self.isSpace(text[start])
                while start < text.count, Self.isSpace(text[start]) { start += 1 }
                var end = start
                while end < text.count, Self.isWordByte(text[end]) { end += 1 }
                if spaced, end > start { found.insert(String(decoding: text[start..<end], as: UTF8.self)) }
                at = max(end, at + 1)
            }
        }
        return found
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
    private static func isWordByte(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte) || byte == 0x5F
    }

    /// Each contract table's columns after the first `version` migrations (lowercased), as
    /// the migrations themselves make them in a scratch in-memory database.
    func columns(through version: Int) throws -> [String: Set<String>] {
        let scratch = try QuickConnection(readOnly: nil)
        for sql in migrations.prefix(version) { try scratch.execute(sql) }
        return try Self.columns(of: tables(through: version), in: scratch)
    }

    /// The columns of `tables` as `connection` has them (lowercased).
    static func columns(of tables: some Sequence<String>, in connection: QuickConnection) throws -> [String: Set<String>] {
        var columns: [String: Set<String>] = [:]
        for table in tables {
            columns[table] = Set(try connection.column("SELECT lower(name) FROM pragma_table_info(?)", argument: table, QuickConnection.text))
        }
        return columns
    }

    /// The newest schema version this build knows.
    public var knownVersion: Int { migrations.count }

    /// The oldest schema version a read-only open accepts as it is (later migrations
    /// only added what readers look for first).
    var readableFrom: Int {
        switch self {
        case .audit: AuditSchema.readableFrom
        case .outbox: OutboxSchema.migrations.count
        }
    }
}

/// How a process means to use a database file.
public enum OpenMode: Sendable {
    /// Never writes, never creates, never migrates: `status`, benchmarks.
    case readOnly
    /// Reads and writes an existing file (the console's decisions); migrates an older schema.
    case readWrite
    /// Creates the file if missing (the agent).
    case create
}

/// Opens contract databases: WAL, a busy timeout, readers that never block the writer,
/// and a check of `application_id` / `user_version` before anything else is read.
public enum DatabaseFile {
    /// How long a statement waits for another process's lock before giving up.
    public static let defaultBusyTimeoutMillis = 5_000

    /// What a store reads through, and what it writes through.
    public struct Opened {
        public let reads: DatabasePool
        public let writer: StoreWriter
    }

    public static func open(_ path: String, role: DatabaseRole, mode: OpenMode,
                            busyTimeoutMillis: Int = defaultBusyTimeoutMillis) throws(StoreError) -> Opened {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = fm.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { throw .cannotOpen(path: path, reason: "it is a directory") }
        if !exists && mode != .create { throw .notFound(path: path, role: role.rawValue) }
        if !exists {
            let dir = (path as NSString).deletingLastPathComponent
            if !fm.isWritableFile(atPath: dir.isEmpty ? "." : dir) { throw .readOnly(path: path) }
        }

        var config = Configuration()
        config.readonly = (mode == .readOnly)
        // SQLite's busy wait, with a way out: a console write that waits on the agent's
        // lock can be given up from the keyboard (LockWait) instead of freezing for the
        // whole timeout.
        let tries = max(1, busyTimeoutMillis / LockWait.pollMillis)
        config.busyMode = .callback { attempt in
            if LockWait.console.takeGiveUp() { return false }
            guard attempt < tries else { return false }
            usleep(useconds_t(LockWait.pollMillis * 1000))
            return true
        }
        config.foreignKeysEnabled = false  // booking ↔ decision links are checked by the store, across processes
        config.label = "\(role.rawValue):\((path as NSString).lastPathComponent)"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            db.add(function: SearchText.sqlFunction)
            db.add(function: CallFilter.callerAsAViewerSees)
        }

        do {
            // Validate identity and version on a plain read-only connection first:
            // DatabasePool would switch a foreign file to WAL before we could refuse it.
            // (The file is never opened outside SQLite: closing any other descriptor on it
            // would drop this process's POSIX locks on it, and another process could then
            // checkpoint and delete the WAL under the connections already open here.
            // SQLite itself answers SQLITE_NOTADB for a file that is not a database.)
            let found = try inspect(path, role: role, mode: mode, busyTimeoutMillis: busyTimeoutMillis)
            // A WAL file already at this build's version, opened to read and write, is read
            // through read-only connections and written through one opened at the first
            // write (StoreWriter): nothing is written at start, which would wait for the
            // agent's lock, and its columns are checked then. Only the agent's own open
            // (create), a file to migrate or one not yet in WAL mode get a read-write pool
            // at once.
            if found.writesLater {
                // Said now rather than at the first decision: this file cannot take one.
                guard access(path, W_OK) == 0 else { throw StoreError.readOnly(path: path) }
                var reading = config
                reading.readonly = true
                let writing = config
                return Opened(reads: try DatabasePool(path: path, configuration: reading), writer: StoreWriter(opening: {
                    let file = try QuickConnection(readOnly: path, busyTimeoutMillis: busyTimeoutMillis)
                    try file.execute("BEGIN")
                    defer { try? file.execute("COMMIT") }
                    try checkColumns(of: file, path: path, role: role, version: role.knownVersion)
                    return try DatabaseQueue(path: path, configuration: writing)
                }))
            }
            let pool = try DatabasePool(path: path, configuration: config)
            // Versions only go up: a file at this build's version has nothing to migrate.
            if mode != .readOnly, found.version != role.knownVersion { try migrate(pool, role: role, path: path) }
            return Opened(reads: pool, writer: StoreWriter(pool))
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError {
            // Reading a WAL database needs its -shm file; in a read-only directory without
            // one, SQLite cannot open it at all. Say that, rather than "unable to open".
            // (SQLITE_READONLY when it gets as far as trying to create the -shm file.)
            if error.resultCode == .SQLITE_CANTOPEN || error.resultCode == .SQLITE_READONLY, mode == .readOnly,
               !directoryIsWritable(of: path),
               !FileManager.default.fileExists(atPath: path + "-shm") {
                throw .walNeedsWritableDirectory(path: path)
            }
            throw translate(error, path: path, busyTimeoutMillis: busyTimeoutMillis)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// Checks the file is one of ours and readable as `mode` needs; answers its schema
    /// version (nil: no file, or an empty one the agent may create) and whether it is
    /// written later, through a connection opened at the first write.
    private static func inspect(_ path: String, role: DatabaseRole, mode: OpenMode, busyTimeoutMillis: Int) throws -> (version: Int?, writesLater: Bool) {
        // stat(2), not FileManager's attributes (which look the owner's name up in the user
        // database on every console start).
        var info = stat()
        guard stat(path, &info) == 0 else { return (nil, false) }
        // Only the agent (create) makes a Switchboard database of an empty file: the console
        // opening one by a mistyped path must not turn it into one.
        if info.st_size == 0 {
            if mode != .create { throw StoreError.failed(path: path, reason: "empty file, not yet a Switchboard \(role.rawValue) database; it was not changed. Check the path.") }
            return (nil, false)
        }
        let file = try QuickConnection(readOnly: path, busyTimeoutMillis: busyTimeoutMillis)
        // One read transaction: the schema is read as of one commit.
        try file.execute("BEGIN")
        defer { try? file.execute("COMMIT") }
        let appID = Int32(truncatingIfNeeded: try file.column("PRAGMA application_id", QuickConnection.integer).first ?? 0)
        let version = Int(try file.column("PRAGMA user_version", QuickConnection.integer).first ?? 0)
        let tables = Set(try file.column("SELECT lower(name) FROM sqlite_master WHERE type = 'table'", QuickConnection.text))
        if appID == 0 && version == 0 && tables.isEmpty {
            if mode == .create { return (version, false) }
            throw StoreError.failed(path: path, reason: "an empty SQLite database, not yet a Switchboard \(role.rawValue) database; it was not changed. Check the path.")
        }
        if appID != role.applicationID {
            throw StoreError.otherApplication(path: path, role: role.rawValue, applicationID: appID)
        }
        if version > role.knownVersion {
            throw StoreError.newerSchema(path: path, found: version, known: role.knownVersion)
        }
        if version < role.readableFrom && mode == .readOnly {
            throw StoreError.olderSchema(path: path, found: version, known: role.knownVersion)
        }
        // Tables but no schema version: not a database the migrations made, so they cannot
        // be trusted to bring it up to date; refused unchanged rather than half-migrated.
        if version == 0, !tables.isEmpty, mode != .create {
            throw StoreError.olderSchema(path: path, found: version, known: role.knownVersion)
        }
        // The right application id is not enough: a file missing the contract's tables is
        // refused before the pool switches it to WAL or a migration writes to it.
        let missing = role.tables(through: max(version, 1)).subtracting(tables)
        if version > 0, !missing.isEmpty {
            throw StoreError.failed(path: path, reason: "has Switchboard's \(role.rawValue) application id but not its tables (no \(missing.sorted().joined(separator: ", "))); it was not changed. Check the path or restore it from a backup.")
        }
        // A WAL file at this build's version, opened to read and write, is written later
        // through a connection of its own (see `open`); its columns are checked then.
        var writesLater = false
        if mode == .readWrite, version == role.knownVersion {
            writesLater = try file.column("PRAGMA journal_mode", QuickConnection.text).first == "wal"
        }
        if version > 0, mode != .readOnly, !writesLater { try checkColumns(of: file, path: path, role: role, version: version) }
        return (version, writesLater)
    }

    /// Nor are the tables' names enough: a renamed or dropped column would let a write go
    /// through where a read is refused. Checked before a file is first written.
    private static func checkColumns(of file: QuickConnection, path: String, role: DatabaseRole, version: Int) throws {
        let expected = try role.columns(through: version)
        let found = try DatabaseRole.columns(of: expected.keys, in: file)
        for (table, columns) in found.sorted(by: { $0.0 < $1.0 }) {
            let lacking = (expected[table] ?? []).subtracting(columns)
            guard lacking.isEmpty else {
                throw StoreError.failed(path: path, reason: "its \(table) table is not the contract's (no \(lacking.sorted().joined(separator: ", "))); it was not changed. Check the path or restore it from a backup.")
            }
        }
    }

    /// Applies the migrations past `user_version` in one immediate transaction, so two
    /// processes opening a new file at once cannot both create the tables.
    /// (GRDB's DatabaseMigrator keeps its own table; the contract versions by `user_version`.)
    private static func migrate(_ pool: DatabasePool, role: DatabaseRole, path: String) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                if version > role.knownVersion {
                    throw StoreError.newerSchema(path: path, found: version, known: role.knownVersion)
                }
                for (index, sql) in role.migrations.enumerated() where index >= version {
                    try db.execute(sql: sql)
                }
                if version < role.knownVersion {
                    try db.execute(sql: "PRAGMA application_id = \(role.applicationID)")
                    try db.execute(sql: "PRAGMA user_version = \(role.knownVersion)")
                }
                return .commit
            }
        }
    }

    /// access(2) rather than permission bits: root can write anywhere but a read-only mount.
    private static func directoryIsWritable(of path: String) -> Bool {
        let dir = (path as NSString).deletingLastPathComponent
        return access(dir.isEmpty ? "." : dir, W_OK) == 0
    }

    static func translate(_ error: DatabaseError, path: String, busyTimeoutMillis: Int) -> StoreError {
        switch error.resultCode {
        case .SQLITE_FULL: .diskFull(path: path)
        case .SQLITE_IOERR where StoreError.noSpace(near: path): .diskFull(path: path)
        case .SQLITE_NOTADB: .notSQLite(path: path)
        case .SQLITE_BUSY, .SQLITE_LOCKED: .locked(path: path, waitedMillis: busyTimeoutMillis)
        case .SQLITE_READONLY: .readOnly(path: path)
        case .SQLITE_CANTOPEN: .cannotOpen(path: path, reason: error.message ?? "cannot open file")
        case .SQLITE_CORRUPT: .failed(path: path, reason: "the database is damaged (\(error.message ?? "corrupt")); restore it from a backup")
        default: .failed(path: path, reason: error.message ?? "\(error)")
        }
    }
}

/// A way to stop waiting for another process's write lock: the console's `Esc` while a
/// write says "waiting for the agent's lock…". The next busy wait gives up, its
/// statement fails with SQLITE_BUSY, and nothing is written.
public final class LockWait: @unchecked Sendable {
    public static let console = LockWait()
    static let pollMillis = 10
    private let lock = NSLock()
    private var givingUp = false

    /// The write waiting now (or the next one to wait) gives up.
    public func giveUp() { lock.withLock { givingUp = true } }

    /// Clears a give-up nobody waited for (before starting a write).
    public func reset() { lock.withLock { givingUp = false } }

    func takeGiveUp() -> Bool {
        lock.withLock {
            defer { givingUp = false }
            return givingUp
        }
    }
}

/// Text as filters compare it: case- and accent-blind, so what a person types finds what
/// the screen shows (`siobhan` finds `Siobhán`). The same folding runs in SQL as
/// `sb_fold(…)` on every connection the store opens.
public enum SearchText {
    static let function = "sb_fold"

    public static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }

    static let sqlFunction = DatabaseFunction(function, argumentCount: 1, pure: true) { values in
        guard let text = String.fromDatabaseValue(values[0]) else { return nil }
        return fold(text)
    }
}
