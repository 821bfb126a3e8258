import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The watch the console sleeps on: commits by another process (the `sqlite3` tool) are
/// reported through the file events, with a safety poll far longer than any wait here, so
/// only inotify can report them in time.
@Suite(.serialized) struct DatabaseWatchTests {
    final class Reports: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func note() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    static let safetyPoll: TimeInterval = 600

    func watch(_ paths: [String], fileEvents: Bool = true) throws -> (DatabaseWatch, Reports) {
        let watch = try DatabaseWatch(paths: paths, safetyPoll: Self.safetyPoll, fileEvents: fileEvents)
        let reports = Reports()
        watch.start { reports.note() }
        return (watch, reports)
    }

    /// Whether a report beyond `count` comes within 10 s (the safety poll is 600 s).
    /// Waits without holding a thread of the shared pool (other suites run beside).
    func reported(_ reports: Reports, beyond count: Int) async -> Bool {
        await eventually { reports.value > count }
    }

    /// Runs `sql` in the sqlite3 tool (another process) and tells whether the watch reported
    /// a change within 10 s. It starts after the second look of anything before (0.25 s), so
    /// a late report of an earlier commit is not taken for this one.
    func reported(_ reports: Reports, after sql: String, in path: String) async throws -> Bool {
        await pause(0.5)
        let count = reports.value
        _ = try sqlite3(path, sql)
        return await reported(reports, beyond: count)
    }

    func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    func pause(_ seconds: Double) async { try? await Task.sleep(for: .seconds(seconds)) }

    @Test func anotherProcessCommitInWALModeIsSeenAndTheIdleWatchAsksNothing() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        let console = try AuditStore(path: path, mode: .create)  // WAL, open as the console keeps it
        defer { withExtendedLifetime(console) {} }
        let (watch, reports) = try watch([path])
        defer { watch.stop() }
        #expect(watch.waking == .fileEvents)
        await pause(1.5)
        #expect(watch.looks == 0, "idle: no PRAGMA data_version at all (it polled 4 times a second)")
        #expect(reports.value == 0)

        #expect(try await reported(reports, after: "INSERT INTO call (call_id, started_at) VALUES ('c1', 1);", in: path),
                "a WAL commit by another process")
        await pause(1.5)
        #expect(watch.looks <= 4, "back to sleep after a look and its second look, not polling")
        let looks = watch.looks
        #expect(try await reported(reports, after: "INSERT INTO call (call_id, started_at) VALUES ('c2', 2);", in: path))
        #expect(watch.looks > looks)
    }

    @Test func rollbackJournalThenTheWALAppearingIsTruncatedAndDeletedAndRecreated() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("agent.sqlite"), wal = path + "-wal"
        _ = try sqlite3(path, "PRAGMA journal_mode=DELETE; CREATE TABLE t (x);")
        let (watch, reports) = try watch([path])
        defer { watch.stop() }
        #expect(watch.waking == .fileEvents)
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (1);", in: path), "a commit in rollback-journal mode")

        // The agent switches to WAL while watched: the -wal appears.
        #expect(try await reported(reports, after: "PRAGMA journal_mode=WAL;", in: path), "the switch to WAL")
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (2);", in: path), "a commit into the new -wal")
        #expect(FileManager.default.fileExists(atPath: wal))

        // A checkpoint cuts the -wal to nothing; the next commit writes it again.
        _ = try sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE);")
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (3);", in: path), "a commit after a truncating checkpoint")

        // The emptied -wal removed and created again by the next writer: the watch follows
        // the new file (a watch left on the removed one would hear nothing for 600 s).
        _ = try sqlite3(path, "PRAGMA wal_checkpoint(TRUNCATE);")
        #expect(unlink(wal) == 0)
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (4);", in: path), "a commit creating a new -wal")
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (5);", in: path), "a later commit into the new -wal")
    }

    @Test func aFileRenamedOverTheDatabaseIsWatchedInstead() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite"), restored = scratch.path("restored.sqlite")
        _ = try sqlite3(path, "PRAGMA journal_mode=WAL; CREATE TABLE t (x);")
        _ = try sqlite3(restored, "PRAGMA journal_mode=WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        let (watch, reports) = try watch([path])
        defer { watch.stop() }
        #expect(rename(restored, path) == 0)
        #expect(await reported(reports, beyond: 0), "another file in its place")
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (2);", in: path), "a commit to the new file")
        #expect(Self.descriptors { $0.hasPrefix(path) && $0.hasSuffix("(deleted)") } == 0,
                "the replaced file's connection is closed, not kept open")
    }

    @Test func twoDatabasesInOneDirectoryEachWakeTheWatch() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let audit = scratch.path("audit.sqlite"), outbox = scratch.path("outbox.sqlite")
        for path in [audit, outbox] { _ = try sqlite3(path, "PRAGMA journal_mode=WAL; CREATE TABLE t (x);") }
        let (watch, reports) = try watch([audit, outbox])
        defer { watch.stop() }
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (1);", in: outbox), "the second database")
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (1);", in: audit), "the first database")
    }

    @Test func withoutFileEventsItPolls() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        _ = try sqlite3(path, "PRAGMA journal_mode=WAL; CREATE TABLE t (x);")
        let (watch, reports) = try watch([path], fileEvents: false)
        defer { watch.stop() }
        #expect(watch.waking == .polling)
        #expect(try await reported(reports, after: "INSERT INTO t VALUES (1);", in: path))
        #expect(watch.looks > 0)
    }

    @Test func stoppedWatchesCloseTheirInotifyDescriptors() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("audit.sqlite")
        _ = try sqlite3(path, "PRAGMA journal_mode=WAL; CREATE TABLE t (x);")
        let before = Self.inotifyDescriptors()
        for _ in 0..<20 {
            let watch = try DatabaseWatch(paths: [path], safetyPoll: Self.safetyPoll)
            #expect(watch.waking == .fileEvents)
            watch.start {}
            watch.stop()
        }
        // Each thread ends at once on stop; the last reference closes the descriptors.
        #expect(await eventually { Self.inotifyDescriptors() == before },
                "inotify descriptors left open: \(Self.inotifyDescriptors() - before)")
        let unstarted = try DatabaseWatch(paths: [path])
        withExtendedLifetime(unstarted) { #expect(Self.inotifyDescriptors() == before + 1) }
    }

    /// This process's open inotify instances.
    static func inotifyDescriptors() -> Int { descriptors { $0 == "anon_inode:inotify" } }

    /// This process's open descriptors whose target matches.
    static func descriptors(_ matching: (String) -> Bool) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.filter { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)")).map(matching) ?? false
        }.count
    }
}
