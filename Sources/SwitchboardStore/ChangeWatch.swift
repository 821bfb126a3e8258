import GRDB
import GRDBSQLite

/// Tells cheaply whether another process committed to a database since the last look,
/// without reading any table: `PRAGMA data_version` on one dedicated connection changes
/// exactly when some other connection commits. (GRDB's ValueObservation only sees
/// commits made through the same database object, not the agent's.)
public final class ChangeWatch: @unchecked Sendable {
    public let path: String
    private var look: Look
    private var lastVersion: Int64?

    /// Watches the file at `path`; the connection is read-only and never blocks writers.
    public init(path: String) throws(StoreError) {
        self.path = path
        look = try Look(path)
    }

    /// True the first time, then whenever another connection has committed since.
    /// Call from one thread at a time (the watcher's own).
    public func hasChanged() throws -> Bool {
        let version = try look.dataVersion(path: path)
        defer { lastVersion = version }
        return version != lastVersion
    }

    /// Opens the file at `path` again (another file was put in its place: the old
    /// connection still reads the replaced one); the next look counts as a change.
    func reopen() throws(StoreError) {
        look = try Look(path)
        lastVersion = nil
    }

    /// The connection and its one statement, finalized before the connection closes.
    private final class Look {
        private static let busyTimeoutMillis = 1000
        private let connection: QuickConnection
        private let statement: OpaquePointer

        init(_ path: String) throws(StoreError) {
            do {
                connection = try QuickConnection(readOnly: path, busyTimeoutMillis: Self.busyTimeoutMillis)
                statement = try connection.prepare("PRAGMA data_version")
            } catch {
                throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: Self.busyTimeoutMillis)
            }
            // One look now: its first read opens the -wal (and, as root, gives it the
            // database's owner), which must happen before the watch's inotify is set up,
            // or the watch would wake for its own connection.
            _ = try? dataVersion(path: path)
        }

        deinit { sqlite3_finalize(statement) }

        /// The statement runs in a read transaction of its own (autocommit), which is
        /// what brings the version up to date.
        func dataVersion(path: String) throws(StoreError) -> Int64 {
            let versions: [Int64]
            do {
                versions = try connection.rows(of: statement, QuickConnection.integer)
            } catch {
                throw DatabaseFile.translate(error, path: path, busyTimeoutMillis: Self.busyTimeoutMillis)
            }
            guard let version = versions.first else { throw .failed(path: path, reason: "PRAGMA data_version answered nothing") }
            return version
        }
    }
}
