import Foundation
import SwitchboardTesting
import Testing

/// Each kind of bad input gets one clear line on stderr naming the file and what to do,
/// a non-zero exit, and leaves the file as it was. Driven through the real executable.
@Suite struct BadInputTests {
    let switchboard = executable("switchboard")

    @Test func missingFileIsNamedAndNotCreated() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("nope.sqlite")
        let r = try run(switchboard, ["status", "--audit", path])
        #expect(r.status == 66)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains(path) && r.stderr.contains("switchboard-sim generate"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func fileThatIsNotSQLiteIsRefusedUnchanged() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("notes.sqlite")
        try Data("Dear diary, today the agent booked 40 appointments.\n".utf8).write(to: URL(fileURLWithPath: path))
        let before = fileDigest(path)
        let r = try run(switchboard, ["status", "--audit", path])
        #expect(r.status == 65)
        #expect(r.stderr.contains(path) && r.stderr.contains("not a SQLite database"))
        #expect(fileDigest(path) == before)
    }

    @Test func databaseOfAnotherApplicationIsRefusedUnchanged() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("other.sqlite")
        _ = try sqlite3(path, "PRAGMA application_id = 1234; CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup');")
        let before = fileDigest(path)
        let r = try run(switchboard, ["status", "--outbox", path])
        #expect(r.status == 65)
        #expect(r.stderr.contains(path) && r.stderr.contains("another application"))
        #expect(fileDigest(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func plainSQLiteFileWithoutContractIsRefused() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("plain.sqlite")
        _ = try sqlite3(path, "CREATE TABLE t (x);")
        let before = fileDigest(path)
        let r = try run(switchboard, ["status", "--audit", path])
        #expect(r.status == 65)
        #expect(r.stderr.contains("another application"))
        #expect(fileDigest(path) == before)
    }

    /// Databases written by another process, so this one holds no connection to them
    /// and may read their bytes.
    func generated(_ scratch: Scratch, calls: Int = 20) throws -> String {
        let result = try run(executable("switchboard-sim"), ["generate", "--out", scratch.url.path, "--calls", String(calls)])
        #expect(result.status == 0, "\(result.stderr)")
        return scratch.path("audit.sqlite")
    }

    @Test func newerSchemaIsRefusedUnchanged() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let auditPath = try generated(scratch)
        _ = try sqlite3(auditPath, "PRAGMA user_version = 9;")
        let before = fileDigest(auditPath)
        let r = try run(switchboard, ["status", "--audit", auditPath])
        #expect(r.status == 65)
        #expect(r.stderr.contains(auditPath) && r.stderr.contains("schema version 9") && r.stderr.contains("Upgrade Switchboard"))
        #expect(fileDigest(auditPath) == before)
    }

    @Test func databaseLockedLongerThanTheWaitIsReportedNotHung() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let auditPath = try generated(scratch)
        // Another process takes the database exclusively and keeps it for 5 s.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("PRAGMA locking_mode=EXCLUSIVE"); c.execute("BEGIN EXCLUSIVE")
            c.execute("INSERT INTO call (call_id, started_at) VALUES ('held', 0)")
            print("locked", flush=True); time.sleep(5); c.execute("ROLLBACK")
            """, auditPath]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // "locked"
        let started = Date()
        let r = try run(switchboard, ["status", "--audit", auditPath, "--lock-wait", "300"], timeout: 20)
        #expect(r.status == 75)
        #expect(r.stderr.contains(auditPath) && r.stderr.contains("locked by another process"))
        #expect(Date().timeIntervalSince(started) < 4.5)
    }

    @Test func readOnlyDirectoryIsRefusedByGenerate() throws {
        // Permission bits do not stop root, so use a directory on a read-only file system.
        let readOnly = "/proc/self/fdinfo"
        let r = try run(executable("switchboard-sim"), ["generate", "--out", readOnly, "--calls", "5"])
        #expect(r.status == 73)
        #expect(r.stderr.contains(readOnly) && r.stderr.contains("read-only"))
    }

    @Test func aDatabaseInAReadOnlyDirectoryIsExplainedNotUnopenable() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let auditPath = try generated(scratch)
        // Permission bits do not stop root: a read-only bind mount does.
        let mountPoint = scratch.path("read-only")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let bind = try run("/bin/mount", ["--bind", scratch.url.path, mountPoint])
        try #require(bind.status == 0, "this test needs to make a read-only bind mount (root): \(bind.stderr)")
        defer { _ = try? run("/bin/umount", [mountPoint]) }
        let readOnly = try run("/bin/mount", ["-o", "remount,bind,ro", mountPoint])
        try #require(readOnly.status == 0, "\(readOnly.stderr)")
        let before = fileDigest(auditPath)
        let path = mountPoint + "/audit.sqlite"
        let r = try run(switchboard, ["status", "--audit", path])
        #expect(r.status == 73)
        #expect(r.stderr.contains(path) && r.stderr.contains("read-only") && r.stderr.contains("audit.sqlite-shm"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(fileDigest(auditPath) == before)
    }

    @Test func anEmptyFileIsRefusedInWriteModeAndLeftEmpty() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("typo.sqlite")
        try Data().write(to: URL(fileURLWithPath: path))
        let r = try run(switchboard, ["review", "approve", "bk-1", "--audit", path])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains(path) && r.stderr.contains("empty file") && r.stderr.contains("not changed"))
        #expect(fileDigest(path) == Data(), "still 0 bytes")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func theRightApplicationIDWithoutTheTablesIsRefusedNotSwitchedToWAL() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let path = scratch.path("lookalike.sqlite")
        _ = try sqlite3(path, "PRAGMA application_id = \(0x5342_4155); PRAGMA user_version = 1; CREATE TABLE notes (text TEXT);")
        let before = fileDigest(path)
        for command in [["review", "approve", "bk-1"], ["review", "list"], ["status"]] {
            let r = try run(switchboard, command + ["--audit", path])
            #expect(r.status == 65, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("not its tables") && r.stderr.contains("audit_event"), "\(r.stderr)")
        }
        #expect(fileDigest(path) == before)
        #expect(try sqlite3(path, "PRAGMA journal_mode").trimmingCharacters(in: .whitespacesAndNewlines) == "delete")
    }

    /// A directory the user may not write to, by permissions (root runs the command as
    /// nobody: permission bits do not stop root).
    @Test func aWALDatabaseInADirectoryTheUserCannotWriteGetsTheShmMessage() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let auditPath = try generated(scratch)
        _ = try sqlite3(auditPath, "PRAGMA journal_mode = WAL")
        let fm = FileManager.default
        try #require(!fm.fileExists(atPath: auditPath + "-shm"))
        for file in try fm.contentsOfDirectory(atPath: scratch.url.path) {
            try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scratch.path(file))
        }
        try fm.setAttributes([.posixPermissions: 0o555], ofItemAtPath: scratch.url.path)
        defer { try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch.url.path) }
        let asUser = geteuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        for command in [["status"], ["review", "list"]] {
            let argv = asUser + [switchboard] + command + ["--audit", auditPath]
            let r = try run(argv[0], Array(argv.dropFirst()))
            #expect(r.status == 73, "\(command): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("audit.sqlite-shm") && r.stderr.contains("directory is read-only"), "\(r.stderr)")
        }
    }

    @Test func generateRefusesToOverwriteWithoutForce() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let auditPath = try generated(scratch, calls: 10)
        let before = fileDigest(auditPath)
        let r = try run(executable("switchboard-sim"), ["generate", "--out", scratch.url.path, "--calls", "5"])
        #expect(r.status == 73)
        #expect(r.stderr.contains("--force"))
        #expect(fileDigest(auditPath) == before)
    }

    @Test func noDatabaseNamedIsAUsageError() throws {
        let r = try run(switchboard, ["status"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--audit"))
    }
}
