import Foundation

/// Tells its owner, from a thread of its own, when another process committed to one of
/// the databases. It sleeps until the kernel says a database file, its -wal or their
/// directory changed (inotify), and only then asks SQLite (`PRAGMA data_version`, which
/// takes a read lock): an idle console costs nothing between commits. A slow safety poll
/// covers file systems where inotify hears nothing of other machines' writes (NFS, SMB);
/// where inotify cannot be set up at all, it polls as often as it would be woken.
public final class DatabaseWatch: @unchecked Sendable {
    public enum Waking: Sendable, Equatable {
        /// inotify, and a look at every database each `safetyPoll`.
        case fileEvents
        /// A look at every database each `interval`.
        case polling
    }

    public let waking: Waking
    private let watches: [ChangeWatch]
    private let interval: TimeInterval
    private let safetyPoll: TimeInterval
    #if canImport(Glibc)
    private let files: DatabaseFileEvents?
    #endif
    private let lock = NSLock()
    private var stopped = false
    private var lookCount = 0

    /// - Parameter interval: the shortest time between two looks (a writer committing
    ///   hundreds of times a second is reported at most this often), and the polling
    ///   period without inotify.
    /// - Parameter safetyPoll: the longest sleep with inotify.
    /// - Parameter fileEvents: false polls even where inotify works.
    public init(paths: [String], interval: TimeInterval = 0.25, safetyPoll: TimeInterval = 5,
                fileEvents: Bool = true) throws(StoreError) {
        var watches: [ChangeWatch] = []
        for path in paths { watches.append(try ChangeWatch(path: path)) }
        self.watches = watches
        self.interval = interval
        self.safetyPoll = safetyPoll
        #if canImport(Glibc)
        // Watched before the first look, so a commit between the two is not missed.
        files = fileEvents ? DatabaseFileEvents.watching(paths) : nil
        waking = files == nil ? .polling : .fileEvents
        #else
        waking = .polling
        #endif
        for watch in watches { _ = try? watch.hasChanged() }  // the first look always differs
    }

    /// Starts the watch's thread; `onChange` runs on it after each commit seen.
    public func start(onChange: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            #if canImport(Glibc)
            if let files { follow(files, onChange: onChange); return }
            #endif
            poll(onChange: onChange)
        }
        thread.name = "database-watch"
        thread.start()
    }

    /// Ends the thread (at once with inotify, after the current sleep when polling); its
    /// descriptors close when the last reference to the watch goes.
    public func stop() {
        lock.withLock { stopped = true }
        #if canImport(Glibc)
        files?.interrupt()
        #endif
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func poll(onChange: @Sendable () -> Void) {
        while !isStopped {
            Thread.sleep(forTimeInterval: interval)
            if !look(at: Set(watches.indices)).changed.isEmpty { onChange() }
        }
    }

    #if canImport(Glibc)
    private func follow(_ files: DatabaseFileEvents, onChange: @Sendable () -> Void) {
        // Databases to look at `interval` after the last look: signalled meanwhile (or their
        // look failed: locked), or signalled or changed at the last look. The second look
        // is there because a WAL commit is written to the -wal first (the signal) and made
        // visible a moment later in the -shm, which is memory-mapped and signals nothing.
        var signalled = Set<Int>(), again = Set<Int>()
        var lastLook = -Double.infinity
        var nextSafetyLook = Self.now() + safetyPoll
        while !isStopped {
            let now = Self.now()
            let waiting = !signalled.isEmpty || !again.isEmpty
            // Too soon after the last look: sleep out the interval (what is written meanwhile
            // queues in the kernel) instead of waking for each of a busy writer's commits.
            let holding = waiting && now < lastLook + interval
            let until = waiting ? min(nextSafetyLook, max(now, lastLook + interval)) : nextSafetyLook
            guard let signals = files.wait(timeout: until - now, events: !holding) else { return }
            for index in signals.replaced { try? watches[index].reopen() }
            signalled.formUnion(signals.touched)
            let woke = Self.now()
            let due: Set<Int>
            if woke >= nextSafetyLook {
                due = Set(watches.indices)
                nextSafetyLook = woke + safetyPoll
            } else if (!signalled.isEmpty || !again.isEmpty) && woke >= lastLook + interval {
                due = signalled.union(again)
            } else {
                continue
            }
            lastLook = woke
            let look = look(at: due)
            again = signalled.union(look.changed).subtracting(look.failed)
            signalled = look.failed
            if !look.changed.isEmpty { onChange() }
        }
    }
    #endif

    /// Asks SQLite whether the databases at `indices` changed; counts the looks.
    private func look(at indices: Set<Int>) -> (changed: Set<Int>, failed: Set<Int>) {
        var changed = Set<Int>(), failed = Set<Int>()
        for index in indices.sorted() {
            do { if try watches[index].hasChanged() { changed.insert(index) } } catch { failed.insert(index) }
        }
        lock.withLock { lookCount += indices.count }
        return (changed, failed)
    }

    /// How many times a database was asked whether it changed (`PRAGMA data_version`).
    public var looks: Int { lock.withLock { lookCount } }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
