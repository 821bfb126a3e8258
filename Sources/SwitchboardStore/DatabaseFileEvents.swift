#if canImport(Glibc)
import Foundation
import Glibc

/// What the kernel says about the database files (inotify), so a watch can sleep until a
/// database may have changed instead of asking SQLite four times a second.
///
/// Watched: each database file and its `-wal` (writes: a commit appends to the -wal in WAL
/// mode, writes the file itself in rollback-journal mode and at checkpoints), and the
/// directory for those two names appearing, disappearing or being renamed over (the -wal
/// is created by the first writer; a restored backup replaces the file). Nothing is
/// opened on the databases themselves: closing a descriptor on a SQLite file would drop
/// this process's locks on it.
final class DatabaseFileEvents {
    struct Signals: Equatable {
        /// Databases whose files were written, truncated, created or removed.
        var touched: Set<Int> = []
        /// Databases whose file is now another file (renamed over or created again).
        var replaced: Set<Int> = []
        var isEmpty: Bool { touched.isEmpty && replaced.isEmpty }
    }

    private struct Database {
        var path: String, name: String, walName: String, directory: String
        var fileWatch: Int32 = -1, walWatch: Int32 = -1
    }

    private static let fileMask = UInt32(IN_MODIFY) | UInt32(IN_ATTRIB) | UInt32(IN_MOVE_SELF) | UInt32(IN_DELETE_SELF)
    private static let directoryMask = UInt32(IN_CREATE) | UInt32(IN_DELETE) | UInt32(IN_MOVED_FROM) | UInt32(IN_MOVED_TO)

    private let inotify: Int32
    /// Written by `interrupt()` to end a `wait`.
    private let wakeRead: Int32, wakeWrite: Int32
    private var databases: [Database]
    private var directoryWatches: [Int32: [Int]] = [:]
    private var buffer = [UInt8](repeating: 0, count: 16 * 1024)

    /// Nil when inotify cannot watch these files (no inotify instance or watch left, a
    /// directory that cannot be read): the caller polls instead.
    static func watching(_ paths: [String]) -> DatabaseFileEvents? {
        let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { return nil }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { close(inotify); return nil }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        let events = DatabaseFileEvents(inotify: inotify, wakeRead: ends[0], wakeWrite: ends[1], paths: paths)
        return events.watchAll() ? events : nil  // dropped, it closes its descriptors
    }

    private init(inotify: Int32, wakeRead: Int32, wakeWrite: Int32, paths: [String]) {
        self.inotify = inotify
        self.wakeRead = wakeRead
        self.wakeWrite = wakeWrite
        databases = paths.map { path in
            // The -wal sits beside the real file when the path is a symbolic link (SQLite
            // resolves links), so watch the real place.
            let real = Self.realPath(path) ?? path
            let url = URL(fileURLWithPath: real)
            return Database(path: real, name: url.lastPathComponent, walName: url.lastPathComponent + "-wal",
                            directory: url.deletingLastPathComponent().path)
        }
    }

    private func watchAll() -> Bool {
        // The directory first: a -wal created after this is seen as it appears.
        for index in databases.indices {
            let directory = inotify_add_watch(inotify, databases[index].directory, Self.directoryMask)
            guard directory >= 0 else { return false }
            directoryWatches[directory, default: []].append(index)
            databases[index].fileWatch = inotify_add_watch(inotify, databases[index].path, Self.fileMask)
            guard databases[index].fileWatch >= 0 else { return false }
            watchWAL(index)
        }
        return true
    }

    deinit {
        close(inotify)
        close(wakeRead)
        close(wakeWrite)
    }

    /// Blocks until a database's files change, `interrupt()` or `timeout` seconds, and
    /// returns what changed (nothing on timeout); nil when interrupted. With `events`
    /// false it sleeps through changes (they queue) and only reads them at the end.
    func wait(timeout: Double, events: Bool = true) -> Signals? {
        var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
        let milliseconds = Int32(min(max(0, (timeout * 1000).rounded(.up)), Double(Int32.max)))
        let ready = poll(&descriptors, events ? 2 : 1, milliseconds)
        if ready > 0 && descriptors[0].revents != 0 { return nil }
        return drain()
    }

    /// Ends the current or next `wait`. Safe from any thread.
    func interrupt() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// Reads every queued event without blocking.
    func drain() -> Signals {
        var signals = Signals()
        while true {
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            buffer.withUnsafeBytes { bytes in
                var offset = 0
                while offset + 16 <= count {
                    let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let nameLength = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = bytes[(offset + 16)..<min(count, offset + 16 + nameLength)]
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    note(watch: watch, mask: mask, name: name, into: &signals)
                    offset += 16 + nameLength
                }
            }
        }
        for index in signals.replaced {
            // The old file's watch goes; the new file (and its -wal, if any) is watched.
            if databases[index].fileWatch >= 0 { _ = inotify_rm_watch(inotify, databases[index].fileWatch) }
            databases[index].fileWatch = inotify_add_watch(inotify, databases[index].path, Self.fileMask)
            watchWAL(index)
        }
        return signals
    }

    private func note(watch: Int32, mask: UInt32, name: String, into signals: inout Signals) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            // Events were lost: look at everything, and watch each -wal again.
            signals.touched.formUnion(databases.indices)
            for index in databases.indices { watchWAL(index) }
            return
        }
        if let indices = directoryWatches[watch] {
            for index in indices {
                if name == databases[index].walName {
                    signals.touched.insert(index)
                    if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0 { watchWAL(index) }
                } else if name == databases[index].name {
                    signals.touched.insert(index)
                    if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0 { signals.replaced.insert(index) }
                }
            }
            return
        }
        for index in databases.indices where databases[index].fileWatch == watch || databases[index].walWatch == watch {
            signals.touched.insert(index)
            if mask & UInt32(IN_IGNORED) != 0 {
                // The kernel dropped the watch (the file is gone for good).
                if databases[index].walWatch == watch { databases[index].walWatch = -1 }
                if databases[index].fileWatch == watch { databases[index].fileWatch = -1 }
            }
        }
    }

    /// Watches the -wal if it exists now (its creation is seen on the directory).
    private func watchWAL(_ index: Int) {
        let wal = databases[index].directory + "/" + databases[index].walName
        let watch = inotify_add_watch(inotify, wal, Self.fileMask)
        if watch >= 0 {
            if databases[index].walWatch >= 0 && databases[index].walWatch != watch {
                _ = inotify_rm_watch(inotify, databases[index].walWatch)
            }
            databases[index].walWatch = watch
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
#endif
