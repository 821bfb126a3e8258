import GRDB

/// Tells cheaply whether another process committed to a database since the last look,
/// without reading any table: `PRAGMA data_version` on one dedicated connection changes
/// exactly when some other connection commits. (GRDB's ValueObservation only sees
/// commits made through the same database object, not the agent's.)
public final class ChangeWatch: @unchecked Sendable {
    public let path: String
    private var connection: DatabaseQueue
    private var lastVersion: Int?

    /// Watches the file at `path`; the connection is read-only and never blocks writers.
    public init(path: String) throws(StoreError) {
        self.path = path
        connection = try Self.open(path)
    }

    private static func open(_ path: String) throws(StoreError) -> DatabaseQueue {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(1)
        do {
            return try DatabaseQueue(path: path, configuration: config)
        } catch let error as DatabaseError {
            throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: 1000)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// True the first time, then whenever another connection has committed since.
    /// Call from one thread at a time (the watcher's own).
    public func hasChanged() throws -> Bool {
        let version = try connection.read { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
        defer { lastVersion = version }
        return version != lastVersion
    }

    /// Opens the file at `path` again (another file was put in its place: the old
    /// connection still reads the replaced one); the next look counts as a change.
    func reopen() throws(StoreError) {
        connection = try Self.open(path)
        lastVersion = nil
    }
}
