import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// Roles come from a policy only root can change, never from the user's config; without
/// one, a user is an operator on files they own and a viewer on anyone else's.
@Suite(.serialized) struct RolePolicyCommandTests {
    static func undecided(_ db: GeneratedDatabases, policy: String? = nil) throws -> [[String: Any]] {
        let listed = try ReviewCommandTests.review(db, ["list", "--json", "--undecided", "--limit", "3"], policy: policy)
        #expect(listed.status == 0, "\(listed.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
    }

    static func masked(_ name: String) -> Bool {
        name.split(separator: " ").allSatisfy { $0.count == 2 && $0.hasSuffix(".") }
    }

    @Test func aViewerInThePolicyCannotGrantThemselvesOperatorInTheirOwnConfig() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let me = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let policy = try db.scratch.policy("[roles]\ndefault_role = \"viewer\"\n")
        let mine = db.scratch.path("mine.toml")
        try "[roles]\n\"\(me)\" = \"operator\"\ndefault_role = \"operator\"\n".write(toFile: mine, atomically: true, encoding: .utf8)

        let id = try #require(try Self.undecided(db, policy: policy).first?["booking_id"] as? String)
        let refused = try ReviewCommandTests.review(db, ["approve", id, "--config", mine], policy: policy)
        #expect(refused.status == 77 && refused.stderr.contains("is a viewer"), "\(refused.stderr)")
        #expect(refused.stderr.contains("[roles] is ignored: roles come from the system policy"), "\(refused.stderr)")
        #expect(try db.audit.decision(bookingId: id) == nil)
        let listed = try ReviewCommandTests.review(db, ["list", "--json", "--limit", "1", "--config", mine], policy: policy)
        let row = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(Self.masked(try #require(row["patient"] as? String)))

        // The policy's own word for this user is what counts.
        let granted = try db.scratch.policy("[roles]\ndefault_role = \"viewer\"\n\"\(me)\" = \"reviewer\"\n", name: "granted.toml")
        let approved = try ReviewCommandTests.review(db, ["approve", id], policy: granted)
        #expect(approved.status == 0, "\(approved.stderr)")
    }

    /// Shown initials, a viewer cannot find a booking by the patient's name either: the
    /// filter would tell whose booking a row is.
    @Test func aViewersReviewListFilterDoesNotSearchPatientNames() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let policy = try db.scratch.policy("[roles]\ndefault_role = \"viewer\"\n")
        let named = try #require(try Self.undecided(db).first?["patient"] as? String)
        let family = String(try #require(named.split(separator: " ").last))
        let asReviewer = try ReviewCommandTests.review(db, ["list", "--json", "--filter", family])
        #expect(asReviewer.status == 0 && asReviewer.stdout.contains(named), "\(asReviewer.stdout)")
        let asViewer = try ReviewCommandTests.review(db, ["list", "--json", "--filter", family], policy: policy)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(asViewer.stdout.utf8)) as? [[String: Any]])
        #expect(asViewer.status == 0 && rows.isEmpty, "\(family): \(asViewer.stdout)")
    }

    /// The console itself: `switchboard --config mine.toml` with `root = "operator"` in it is
    /// still the policy's viewer, and `a` writes nothing.
    @Test func theConsoleWithTheUsersOwnConfigIsStillThePolicysViewer() async throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let me = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let policy = try db.scratch.policy("[roles]\ndefault_role = \"viewer\"\n")
        let mine = db.scratch.path("mine.toml")
        try "theme = \"default\"\n[roles]\n\"\(me)\" = \"operator\"\n".write(toFile: mine, atomically: true, encoding: .utf8)
        let decided = "SELECT count(*) FROM review_decision"
        let before = try sqlite3(db.auditPath, decided)
        var environment = ReviewCommandTests.environment(db)
        environment["SWITCHBOARD_POLICY"] = policy
        let tmux = try Tmux.start([executable("switchboard"), "--config", mine, "--audit", db.auditPath, "--outbox", db.outboxPath],
                                  width: 120, height: 30, environment: environment.filter { ["HOME", "XDG_CONFIG_HOME", "SWITCHBOARD_POLICY", "PATH"].contains($0.key) })
        defer { tmux.kill() }
        let screen = try await tmux.waitFor("\(me) · viewer", timeout: 30)
        #expect(screen.contains("1 Review"))
        try tmux.send("a")
        _ = try await tmux.waitFor("viewer", timeout: 10)
        try await Tmux.settle(500)
        #expect(try sqlite3(db.auditPath, decided) == before, "a viewer's a wrote nothing")
        try tmux.send("q")
    }

    @Test func withoutAPolicyFilesSomeoneElseOwnsMakeAViewerWithMaskedNames() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let id = try #require(try Self.undecided(db).first?["booking_id"] as? String)
        // uid 1 (daemon) owns the clinic's files; this user can still read them.
        for path in [db.auditPath, db.outboxPath] { #expect(chown(path, 1, 1) == 0) }
        let listed = try ReviewCommandTests.review(db, ["list", "--json", "--limit", "1"])
        let row = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(Self.masked(try #require(row["patient"] as? String)), "\(row)")
        let refused = try ReviewCommandTests.review(db, ["approve", id])
        #expect(refused.status == 77 && refused.stderr.contains("is a viewer"), "\(refused.stderr)")
        #expect(try db.audit.decision(bookingId: id) == nil)
    }

    @Test func ownFilesMakeAnOperatorAndTheAuditRowRecordsUserUidAndRole() throws {
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let me = String(cString: getpwuid(geteuid()).pointee.pw_name)
        let id = try #require(try Self.undecided(db).first?["booking_id"] as? String)
        let approved = try ReviewCommandTests.review(db, ["approve", id])
        #expect(approved.status == 0, "\(approved.stderr)")
        let row = try sqlite3(db.auditPath, """
            SELECT actor, json_extract(detail, '$.os_user'), json_extract(detail, '$.uid'), json_extract(detail, '$.role')
            FROM audit_event WHERE action = 'review.approve' AND json_extract(detail, '$.booking_id') = '\(id)'
            """)
        #expect(row.trimmingCharacters(in: .whitespacesAndNewlines) == "operator:\(me)|\(me)|\(geteuid())|operator", "\(row)")
    }

    @Test func aPolicyAnyoneButRootCouldChangeIsRefusedWithEX_CONFIG() throws {
        let db = try GeneratedDatabases(calls: 50)
        defer { db.scratch.cleanUp() }
        let writable = try db.scratch.policy("[roles]\ndefault_role = \"operator\"\n", name: "open.toml", mode: 0o666)
        let open = try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: writable)
        #expect(open.status == 78 && open.stderr.contains("writable by group or others"), "\(open.stderr)")
        #expect(open.stderr.split(separator: "\n").count == 1)

        let groupWritable = try db.scratch.policy("[roles]\ndefault_role = \"operator\"\n", name: "group.toml", mode: 0o664)
        #expect(try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: groupWritable).status == 78)

        let foreign = try db.scratch.policy("[roles]\ndefault_role = \"operator\"\n", name: "foreign.toml")
        #expect(chown(foreign, 1, 1) == 0)
        let notRoot = try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: foreign)
        #expect(notRoot.status == 78 && notRoot.stderr.contains("not root"), "\(notRoot.stderr)")

        let typo = try db.scratch.policy("[roles]\ndefault_role = \"admin\"\n", name: "typo.toml")
        let unknown = try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: typo)
        #expect(unknown.status == 78 && unknown.stderr.contains("must be one of"), "\(unknown.stderr)")

        let missing = try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: db.scratch.path("none.toml"))
        #expect(missing.status == 78 && missing.stderr.contains("no such policy file"), "\(missing.stderr)")
    }

    /// SWITCHBOARD_POLICY is for tests run as root: a user who names another root-owned
    /// policy (one that passes every check and makes them operator) stays what the system
    /// gives them — here a viewer, on files someone else owns — and is told it was ignored.
    @Test func aUserCannotRaiseTheirRoleByNamingAnotherPolicy() throws {
        #expect(getuid() == 0, "making a test user needs root")
        guard getuid() == 0 else { return }
        let user = "sbpolicy\(UInt32.random(in: 1000...99999))"
        #expect(try run("/usr/sbin/useradd", ["-M", "-s", "/bin/sh", user]).status == 0)
        defer { _ = try? run("/usr/sbin/userdel", [user]) }

        // The clinic's files belong to uid 1 (daemon) and are open to this user: without a
        // policy that makes the user a viewer. The directory is theirs to write, so SQLite
        // can keep its -wal and -shm files beside the databases.
        let db = try GeneratedDatabases(calls: 300)
        defer { db.scratch.cleanUp() }
        let id = try #require(try Self.undecided(db).first?["booking_id"] as? String)
        #expect(chmod(db.scratch.url.path, 0o777) == 0)
        for name in ["audit.sqlite", "outbox.sqlite", "audit.sqlite-wal", "audit.sqlite-shm", "outbox.sqlite-wal", "outbox.sqlite-shm"] {
            let path = db.scratch.path(name)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            #expect(chown(path, 1, 1) == 0 && chmod(path, 0o666) == 0)
        }
        // A policy only root could have written: root's file in root's directory, 0644,
        // that would make this user an operator if it were the one in force.
        let policies = Scratch("policyForAnotherClinic")
        defer { policies.cleanUp() }
        let other = try policies.policy("[roles]\ndefault_role = \"viewer\"\n\"\(user)\" = \"operator\"\n")
        #expect(try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: other).status == 0, "root may name it: it passes every check")

        let program = db.scratch.path("switchboard")
        try placeExecutable("switchboard", at: program)
        func asUser(_ arguments: [String]) throws -> ProcessResult {
            try run("/usr/sbin/runuser", ["-u", user, "--", program, "review"] + arguments + ["--audit", db.auditPath, "--outbox", db.outboxPath],
                    environment: ["HOME": db.scratch.url.path, "XDG_CONFIG_HOME": db.scratch.path("config"), "PATH": "/usr/bin:/bin",
                                  "SWITCHBOARD_POLICY": other])
        }
        let refused = try asUser(["approve", id])
        #expect(refused.status == 77 && refused.stderr.contains("is a viewer"), "\(refused.status) \(refused.stderr)")
        #expect(refused.stderr.contains("SWITCHBOARD_POLICY is ignored: only root may name another role policy"), "\(refused.stderr)")
        #expect(try db.audit.decision(bookingId: id) == nil, "nothing was approved")
        let listed = try asUser(["list", "--json", "--limit", "1"])
        let row = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first, "\(listed.stderr)")
        #expect(Self.masked(try #require(row["patient"] as? String)), "\(row)")
    }

    /// The policy's directories count too: a root-owned file in a directory others can
    /// write (not sticky) could be swapped for another, so it is refused.
    @Test func aPolicyInADirectoryOthersCanWriteIsRefused() throws {
        let db = try GeneratedDatabases(calls: 50)
        defer { db.scratch.cleanUp() }
        let open = Scratch("policyInAnOpenDirectory")
        defer { open.cleanUp() }
        let policy = try open.policy("[roles]\ndefault_role = \"operator\"\n")
        #expect(chmod(open.url.path, 0o777) == 0)
        let refused = try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: policy)
        #expect(refused.status == 78 && refused.stderr.contains("directory") && refused.stderr.contains("writable by group or others"),
                "\(refused.stderr)")
        #expect(chmod(open.url.path, 0o755) == 0)
        #expect(try ReviewCommandTests.review(db, ["list", "--limit", "1"], policy: policy).status == 0)
    }

    @Test func statusWarnsWhenOthersMayReadOrWriteTheDatabases() throws {
        let db = try GeneratedDatabases(calls: 50)
        defer { db.scratch.cleanUp() }
        func status() throws -> ProcessResult {
            try run(executable("switchboard"), ["status", "--audit", db.auditPath, "--outbox", db.outboxPath],
                    environment: ReviewCommandTests.environment(db))
        }
        // The simulator writes its files as an agent should: no warning on what it made
        // (there was one for each of its six files).
        let made = Scratch("simulatorMade")
        defer { made.cleanUp() }
        #expect(try run(executable("switchboard-sim"), ["generate", "--out", made.path("site"), "--calls", "20"]).status == 0)
        let (audit, outbox) = (made.path("site/audit.sqlite"), made.path("site/outbox.sqlite"))
        for path in [audit, outbox, made.path("site/audit.sqlite.checkpoints")] {
            var info = stat()
            #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o640, "\(path): \(String(info.st_mode & 0o777, radix: 8))")
        }
        let asMade = try run(executable("switchboard"), ["status", "--audit", audit, "--outbox", outbox], environment: ReviewCommandTests.environment(db))
        #expect(asMade.status == 0 && !asMade.stderr.contains("warning"), "\(asMade.stderr)")
        chmod(db.auditPath, 0o644)
        chmod(db.outboxPath, 0o666)
        let open = try status()
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stderr.contains("\(db.auditPath) is readable by others"), "\(open.stderr)")
        #expect(open.stderr.contains("\(db.outboxPath) is readable by others and writable by others"), "\(open.stderr)")
        for path in [db.auditPath, db.outboxPath, db.auditPath + "-wal", db.auditPath + "-shm", db.outboxPath + "-wal", db.outboxPath + "-shm"] {
            chmod(path, 0o600)
        }
        let closed = try status()
        #expect(closed.status == 0 && !closed.stderr.contains("warning"), "\(closed.stderr)")
    }
}
