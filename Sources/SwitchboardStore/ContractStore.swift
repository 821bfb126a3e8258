import Foundation
import GRDB

/// What the audit and outbox stores share: a contract database, and how its errors are
/// told to the user (naming the file, in `StoreError`'s words).
public protocol ContractStore {
    static var role: DatabaseRole { get }
    var path: String { get }
    var database: any DatabaseWriter { get }
    var busyTimeoutMillis: Int { get }
    init(database: any DatabaseWriter, path: String, busyTimeoutMillis: Int)
}

extension ContractStore {
    /// Opens the file at `path` for `mode`, checking what it is first (DatabaseFile.open).
    public init(path: String, mode: OpenMode, busyTimeoutMillis: Int = DatabaseFile.defaultBusyTimeoutMillis) throws(StoreError) {
        self.init(database: try DatabaseFile.open(path, role: Self.role, mode: mode, busyTimeoutMillis: busyTimeoutMillis),
                  path: path, busyTimeoutMillis: busyTimeoutMillis)
    }

    /// Runs a write in `BEGIN IMMEDIATE`, so the lock is taken before anything is read
    /// (the chain's last hash, a decision's absence, a lease) and two processes never interleave.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as DatabaseError {
            throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: busyTimeoutMillis)
        }
    }

    /// Closes the connections now rather than when the last reference goes: the last
    /// close checkpoints and removes the -wal and -shm files, so a process that exits right
    /// after leaves one clean file (a reference still held on another thread would not).
    public func close() throws(StoreError) {
        do {
            // Idle readers go first: they are read-only connections, and if one closed last
            // it could not remove the WAL.
            (database as? DatabasePool)?.releaseMemory()
            try database.close()
        } catch let error as DatabaseError {
            throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: busyTimeoutMillis)
        } catch {
            throw .failed(path: path, reason: "\(error)")
        }
    }

    /// Opens a reader connection now (a read of nothing), so that the first real read,
    /// the one a screen waits for, finds one ready (the console does this beside its start).
    public func prepareReader() throws {
        try read { _ in }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        if let db = OpenSnapshot.current(of: database) { return try body(db) }
        do {
            return try database.read(body)
        } catch let error as DatabaseError {
            throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: busyTimeoutMillis)
        }
    }

    /// Runs `body` in one read transaction: every read of this store inside it sees the
    /// same commit, so rows, counts and figures read for one screen never disagree.
    ///
    ///     let (rows, total) = try audit.snapshot { (try audit.reviewQueue(f, limit: 40), try audit.reviewCount(f)) }
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        if OpenSnapshot.current(of: database) != nil { return try body() }  // already inside one
        return try read { db in try OpenSnapshot.with(db, of: database, body) }
    }
}

/// The read transaction a thread has open on a database, so the store's reads inside
/// `snapshot` join it instead of starting their own (GRDB reads are not reentrant).
enum OpenSnapshot {
    private static let key = "switchboard.open-snapshots"

    private final class Open: @unchecked Sendable {
        let database: Database
        init(_ database: Database) { self.database = database }
    }

    static func current(of writer: any DatabaseWriter) -> Database? {
        (Thread.current.threadDictionary[key] as? [ObjectIdentifier: Open])?[ObjectIdentifier(writer)]?.database
    }

    static func with<T>(_ db: Database, of writer: any DatabaseWriter, _ body: () throws -> T) throws -> T {
        let thread = Thread.current
        var open = thread.threadDictionary[key] as? [ObjectIdentifier: Open] ?? [:]
        open[ObjectIdentifier(writer)] = Open(db)
        thread.threadDictionary[key] = open
        defer {
            var after = thread.threadDictionary[key] as? [ObjectIdentifier: Open] ?? [:]
            after[ObjectIdentifier(writer)] = nil
            thread.threadDictionary[key] = after
        }
        return try body()
    }
}
