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

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.read(body)
        } catch let error as DatabaseError {
            throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: busyTimeoutMillis)
        }
    }
}
