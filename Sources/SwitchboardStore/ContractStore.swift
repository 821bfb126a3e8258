import Foundation
import GRDB

/// What the audit and outbox stores share: a contract database, and how its errors are
/// told to the user (naming the file, in `StoreError`'s words).
public protocol ContractStore {
    static var role: DatabaseRole { get }
    var path: String { get }
    /// What the store reads through: the pool's readers, which never block a writer.
    var database: any DatabaseWriter { get }
    /// What the store writes through (see `StoreWriter`).
    var writer: StoreWriter { get }
    var busyTimeoutMillis: Int { get }
    init(database: any DatabaseWriter, writer: StoreWriter?, path: String, busyTimeoutMillis: Int)
}

extension ContractStore {
    /// Opens the file at `path` for `mode`, checking what it is first (DatabaseFile.open).
    public init(path: String, mode: OpenMode, busyTimeoutMillis: Int = DatabaseFile.defaultBusyTimeoutMillis) throws(StoreError) {
        let opened = try DatabaseFile.open(path, role: Self.role, mode: mode, busyTimeoutMillis: busyTimeoutMillis)
        self.init(database: opened.reads, writer: opened.writer, path: path, busyTimeoutMillis: busyTimeoutMillis)
    }

    /// Runs a write in `BEGIN IMMEDIATE`, so the lock is taken before anything is read
    /// (the chain's last hash, a decision's absence, a lease) and two processes never interleave.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try writer.database().writeWithoutTransaction { db in
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
            // it could not remove the WAL. A write connection of the store's own goes last.
            (database as? DatabasePool)?.releaseMemory()
            try database.close()
            try writer.ownConnection?.close()
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
/// Kept in a pthread key, not `Thread.threadDictionary`: that dictionary is Foundation's
/// NSMutableDictionary, and bridging through it was a fifth of the first frame's read.
enum OpenSnapshot {
    /// The innermost open snapshot of this thread, and the ones it is nested in.
    private final class Open {
        let database: Database
        let writer: ObjectIdentifier
        let outer: Open?
        init(_ database: Database, writer: ObjectIdentifier, outer: Open?) {
            self.database = database; self.writer = writer; self.outer = outer
        }
    }

    // Holds an unretained `Open` while `with` keeps it alive on its stack.
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "no thread-local key left")
        return key
    }()

    private static var innermost: Open? {
        pthread_getspecific(key).map { Unmanaged<Open>.fromOpaque($0).takeUnretainedValue() }
    }

    static func current(of writer: any DatabaseWriter) -> Database? {
        let id = ObjectIdentifier(writer)
        var open = innermost
        while let o = open {
            if o.writer == id { return o.database }
            open = o.outer
        }
        return nil
    }

    static func with<T>(_ db: Database, of writer: any DatabaseWriter, _ body: () throws -> T) throws -> T {
        let outer = innermost
        let open = Open(db, writer: ObjectIdentifier(writer), outer: outer)
        pthread_setspecific(key, Unmanaged.passUnretained(open).toOpaque())
        defer { pthread_setspecific(key, outer.map { Unmanaged.passUnretained($0).toOpaque() }) }
        return try withExtendedLifetime(open) { try body() }
    }
}
