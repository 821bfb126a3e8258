import Foundation

/// Why a database could not be used. Each description is one line that names the file
/// and says what to do, fit for stderr.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    case notFound(path: String, role: String)
    case notSQLite(path: String)
    case otherApplication(path: String, role: String, applicationID: Int32)
    case newerSchema(path: String, found: Int, known: Int)
    case olderSchema(path: String, found: Int, known: Int)
    case locked(path: String, waitedMillis: Int)
    case readOnly(path: String)
    case walNeedsWritableDirectory(path: String)
    case cannotOpen(path: String, reason: String)
    /// No space left on the file system holding the database (or its -wal/-shm files).
    case diskFull(path: String)
    case failed(path: String, reason: String)
    /// A system library loaded on first use is not on this machine.
    case missingLibrary(name: String, package: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let path, let role):
            "\(path): no such \(role) database. Check the path, or create one with `switchboard-sim generate --out DIR`."
        case .notSQLite(let path):
            "\(path): not a SQLite database (or it is encrypted or damaged). Point Switchboard at the agent's database file."
        case .otherApplication(let path, let role, let id):
            "\(path): a SQLite database of another application (application_id \(String(format: "0x%08X", UInt32(bitPattern: id)))), not a Switchboard \(role) database. Check the path."
        case .newerSchema(let path, let found, let known):
            "\(path): schema version \(found) is newer than this Switchboard understands (up to \(known)). Upgrade Switchboard; the file was not changed."
        case .olderSchema(let path, let found, let known):
            "\(path): schema version \(found) is older than \(known) and the file is open read-only. Open it once with write access to migrate it."
        case .locked(let path, let waited):
            "\(path): locked by another process for more than \(waited) ms. Find the process holding it (`fuser \(path)`) and try again."
        case .readOnly(let path):
            "\(path): cannot write here (read-only file or directory). Choose a writable location or fix the permissions."
        case .walNeedsWritableDirectory(let path):
            "\(path): its directory is read-only and SQLite needs to create \((path as NSString).lastPathComponent)-shm there to read a WAL database. Copy the database (with any -wal file) to a writable directory, or open it where it lives with write access to the directory."
        case .cannotOpen(let path, let reason):
            "\(path): cannot open: \(reason). Check the path and its permissions."
        case .diskFull(let path):
            "\(path): the disk is full (no space left on the file system holding it); nothing was written. Free some space and try again."
        case .failed(let path, let reason):
            "\(path): \(reason)"
        case .missingLibrary(let name, let package, let reason):
            "\(name) could not be loaded (\(reason)). Install the \(package) package."
        }
    }
}

extension StoreError {
    /// Whether the file system holding `path` has no space left for us: SQLite reports a
    /// full disk as SQLITE_FULL in a write but as a plain I/O error when it cannot grow
    /// the -shm or -wal file while opening.
    static func noSpace(near path: String) -> Bool {
        var info = statvfs()
        let dir = (path as NSString).deletingLastPathComponent
        guard statvfs(dir.isEmpty ? "." : dir, &info) == 0 else { return false }
        // Less than two pages: SQLite cannot grow the -shm file, a WAL frame or a page.
        return UInt64(info.f_bavail) * UInt64(info.f_frsize) < 2 * 65_536
    }
}
