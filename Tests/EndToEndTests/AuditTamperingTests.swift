import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The 13 ways to tamper with audit.sqlite, each done with the `sqlite3` tool on a real
/// file the simulator wrote (and signed), each found by the real `switchboard audit
/// verify`: exit 65, naming the first bad row.
@Suite struct AuditTamperingTests {
    /// One generated, signed history shared by the cases (copied for each): 80 calls,
    /// a checkpoint every 50 rows and a closing one.
    static let original: (dir: String, head: Int64) = {
        let scratch = Scratch(untilExit: "audit-tampering-original")
        let dir = scratch.path("db")
        let result = try! run(executable("switchboard-sim"), ["generate", "--out", dir, "--calls", "80", "--checkpoint-every", "50"], timeout: 60)
        precondition(result.status == 0, "generate failed: \(result.stderr)")
        return (dir, Int64(try! E2E.value(dir + "/audit.sqlite", "SELECT max(seq) FROM audit_event"))!)
    }()

    static let unguard = AuditTampering.unguard

    /// A copy of the signed history, with its own state directory; verified intact once
    /// first (as a cron job would have), so the console has seen its head.
    struct Copy {
        let scratch: Scratch
        var audit: String { scratch.path("audit.sqlite") }
        var key: String { original.dir + "/audit-checkpoint.pub" }
        var environment: [String: String] { ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")] }

        init(name: String = #function) throws {
            scratch = Scratch(name)
            for suffix in ["", ".checkpoints"] {
                try FileManager.default.copyItem(atPath: original.dir + "/audit.sqlite" + suffix, toPath: audit + suffix)
            }
        }

        func verify(_ extra: [String] = []) throws -> ProcessResult {
            try run(executable("switchboard"), ["audit", "verify", "--audit", audit, "--key", key] + extra, environment: environment, timeout: 60)
        }

        func sql(_ text: String) throws {
            let result = try run("/usr/bin/sqlite3", [audit, text])
            try #require(result.status == 0 && result.stderr.isEmpty, "sqlite3: \(result.stderr)")
        }
    }

    static func brokenSeq(_ output: String) -> Int64? { AuditTampering.brokenSeq(output) }

    @Test func anUntouchedHistoryIsIntact() throws {
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        let result = try copy.verify()
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("intact") && result.stdout.contains("anchored through row \(Self.original.head)"))
        let json = try copy.verify(["--json"])
        #expect(json.status == 0 && json.stdout.contains("\"intact\":true") && json.stdout.contains("\"seen_heads\":1"))
        let mode = try FileManager.default.attributesOfItem(atPath: Self.original.dir + "/audit-checkpoint.key")[.posixPermissions] as? Int
        #expect(mode == 0o600, "the agent's signing key is private")
    }

    @Test(arguments: AuditTampering.allCases)
    func eachTamperingIsFoundAndNamed(_ tampering: AuditTampering) throws {
        let copy = try Copy(name: "tamper-\(tampering.rawValue)"); defer { copy.scratch.cleanUp() }
        let before = try copy.verify()
        try #require(before.status == 0, "the copy is intact first: \(before.stdout)")
        let head = Self.original.head
        if tampering == .editColumn {
            for edit in AuditTampering.columnEdits.indices {
                let one = try Copy(name: "tamper-edit"); defer { one.scratch.cleanUp() }
                _ = try tampering.apply(to: one.audit, head: head, edit: edit)
                let result = try one.verify()
                #expect(result.status == 65 && Self.brokenSeq(result.stdout) == AuditTampering.row, "\(AuditTampering.columnEdits[edit]): \(result.stdout)")
            }
            return
        }
        let (expected, says) = try tampering.apply(to: copy.audit, head: head)
        let result = try copy.verify()
        #expect(result.status == 65, "\(tampering): \(result.stdout)\(result.stderr)")
        #expect(Self.brokenSeq(result.stdout) == expected, "\(tampering): \(result.stdout)")
        #expect(says.isEmpty || result.stdout.contains(says), "\(tampering): \(result.stdout)")
        let json = try copy.verify(["--json"])
        #expect(json.status == 65 && json.stdout.contains("\"first_bad_seq\":\(expected)"), "\(json.stdout)")
    }

    /// Truncation with both copies of the checkpoints gone: the head this console verified
    /// before still tells.
    @Test func truncationIsFoundByASeenHeadWithoutCheckpoints() throws {
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        let head = Self.original.head
        #expect(try copy.verify(["--checkpoints", copy.scratch.path("none")]).status == 0)
        try FileManager.default.removeItem(atPath: copy.audit + ".checkpoints")
        try copy.sql(Self.unguard + """
            DROP TRIGGER audit_checkpoint_is_append_only_delete; DELETE FROM audit_checkpoint;
            DELETE FROM audit_event WHERE seq > \(head - 10);
            """)
        let result = try run(executable("switchboard"), ["audit", "verify", "--audit", copy.audit], environment: copy.environment)
        #expect(result.status == 65 && Self.brokenSeq(result.stdout) == head - 9, "\(result.stdout)")
        #expect(result.stdout.contains("this console verified"))
        // With the key, the missing checkpoints are a break of their own.
        let keyed = try copy.verify(["--no-remember"])
        #expect(keyed.status == 65)
    }

    /// A database from before checkpoints (schema v1) still opens read-only and verifies.
    @Test func anOlderDatabaseWithoutCheckpointsStillVerifies() throws {
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        try FileManager.default.removeItem(atPath: copy.audit + ".checkpoints")
        try copy.sql("DROP TABLE audit_checkpoint; PRAGMA user_version = 1;")
        let before = fileDigest(copy.audit)
        let result = try run(executable("switchboard"), ["audit", "verify", "--audit", copy.audit], environment: copy.environment)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("not anchored"))
        #expect(fileDigest(copy.audit) == before, "read-only: the file is unchanged")
    }

    @Test func missingAndForeignFilesGetOneLine() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let env = ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")]
        let missing = try run(executable("switchboard"), ["audit", "verify", "--audit", scratch.path("nope.sqlite")], environment: env)
        #expect(missing.status == 66 && missing.stderr.contains("nope.sqlite") && missing.stderr.split(separator: "\n").count == 1)
        try Data("not a database at all, just text".utf8).write(to: URL(fileURLWithPath: scratch.path("junk.sqlite")))
        let junk = try run(executable("switchboard"), ["audit", "verify", "--audit", scratch.path("junk.sqlite")], environment: env)
        #expect(junk.status == 65 && junk.stderr.contains("not a SQLite database"))
        let noKey = try run(executable("switchboard"), ["audit", "verify", "--audit", Self.original.dir + "/audit.sqlite", "--key", scratch.path("none.pub")],
                            environment: env)
        #expect(noKey.status == 66 && noKey.stderr.contains("none.pub"))
    }

    /// Rows deleted at the end together with the closing checkpoint (from the table and
    /// the file) and a forged row appended: the rows after the last checkpoint left are
    /// older than the agent's signing interval, so they were never signed.
    @Test func removingTheClosingCheckpointIsFound() throws {
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        let head = Self.original.head
        let file = copy.audit + ".checkpoints"
        let kept = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { !$0.contains(" closing ") }
        try (kept.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try copy.sql(Self.unguard + "DROP TRIGGER audit_checkpoint_is_append_only_delete; DELETE FROM audit_checkpoint WHERE closing = 1;")
        let lastSigned = (head / 50) * 50
        let result = try copy.verify(["--no-remember"])
        #expect(result.status == 65 && Self.brokenSeq(result.stdout) == lastSigned + 1 && result.stdout.contains("no signed checkpoint covers it"),
                "\(result.stdout)")
    }

    /// `--from` walks from that row (the row before gives the link); the anchors are still checked.
    @Test func verifyFromARowChecksFromThere() throws {
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        try copy.sql(Self.unguard + "UPDATE audit_event SET latency_ms = 1 WHERE seq = 150;")
        let from100 = try copy.verify(["--from", "100", "--no-remember"])
        #expect(from100.status == 65 && Self.brokenSeq(from100.stdout) == 150, "\(from100.stdout)")
        let from200 = try copy.verify(["--from", "200", "--no-remember"])
        #expect(from200.status == 0 && from200.stdout.contains("\(Self.original.head - 199) rows checked"), "\(from200.stdout)")
        let zero = try copy.verify(["--from", "0"])
        #expect(zero.status == 64 && zero.stderr.contains("--from must be a row number"))
    }

    /// A database another process holds exclusively: one line naming it, exit 75, no hang.
    @Test func aLockedDatabaseIsReportedNotHung() throws {
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("PRAGMA journal_mode=DELETE"); c.execute("PRAGMA locking_mode=EXCLUSIVE"); c.execute("BEGIN EXCLUSIVE")
            c.execute("INSERT INTO call (call_id, started_at) VALUES ('held', 0)")
            print("locked", flush=True); time.sleep(5); c.execute("ROLLBACK")
            """, copy.audit]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // "locked"
        let started = Date()
        let result = try run(executable("switchboard"), ["audit", "verify", "--audit", copy.audit, "--lock-wait", "300"],
                             environment: copy.environment, timeout: 20)
        #expect(result.status == 75 && result.stderr.contains(copy.audit) && result.stderr.contains("locked by another process"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 4.5)
    }

    /// The verifier printed in docs/data-contract.md agrees: intact passes, an edited or
    /// unknown transport fails.
    @Test func theDocumentedPythonVerifierAgrees() throws {
        let doc = try String(contentsOfFile: packageRoot() + "/docs/data-contract.md", encoding: .utf8)
        let start = try #require(doc.range(of: "```python\n"))
        let end = try #require(doc.range(of: "```", range: start.upperBound..<doc.endIndex))
        let copy = try Copy(); defer { copy.scratch.cleanUp() }
        let script = copy.scratch.path("verify.py")
        try String(doc[start.upperBound..<end.lowerBound]).write(toFile: script, atomically: true, encoding: .utf8)
        #expect(try run("/usr/bin/python3", [script, copy.audit]).status == 0)
        try copy.sql(Self.unguard + "UPDATE audit_event SET transport = 'smoke' WHERE seq = 7;")
        let broken = try run("/usr/bin/python3", [script, copy.audit])
        #expect(broken.status != 0 && broken.stderr.contains("7"))
    }

    /// The running agent signs every N rows and, closing, when stopped; the console config
    /// it writes names the key, so `audit verify --config` checks the signatures.
    @Test func theRunningAgentSignsCheckpointsAndItsConfigNamesTheKey() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let site = try E2E.loadedSite(scratch, rate: 600, concurrency: 10, extra: ["--checkpoint-every", "25"])
        let enough = RunningProcess.waitUntil(timeout: 60) {
            FileManager.default.fileExists(atPath: site.audit)
                && (Int((try? E2E.value(site.audit, "SELECT count(*) FROM audit_checkpoint")) ?? "") ?? 0) >= 2
        }
        #expect(enough, "two checkpoints within a minute: \(site.process.stderr)")
        site.process.signal(SIGTERM)
        #expect(try site.process.waitForExit(timeout: 30) == 0)
        let head = try E2E.value(site.audit, "SELECT max(seq) FROM audit_event")
        #expect(try E2E.value(site.audit, "SELECT seq || ' ' || closing FROM audit_checkpoint ORDER BY rowid DESC LIMIT 1") == "\(head) 1",
                "the last checkpoint is the closing one, at the head")
        let table = Int(try E2E.value(site.audit, "SELECT count(*) FROM audit_checkpoint"))!
        let lines = try String(contentsOfFile: site.audit + ".checkpoints", encoding: .utf8).split(separator: "\n").count
        #expect(lines == table, "the file holds every checkpoint the table holds")
        #expect(try String(contentsOfFile: site.config, encoding: .utf8).contains("audit_key = "))
        let result = try run(executable("switchboard"), ["audit", "verify", "--config", site.config],
                             environment: ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")])
        #expect(result.status == 0 && result.stdout.contains("\(table) checkpoint(s) signed by the key") && result.stdout.contains("anchored through row \(head)"),
                "\(result.stdout)\(result.stderr)")

        // Started again on the same directory: its new rows come after the first run's
        // closing checkpoint, but it signed the head it found on start, so they are its own.
        let again = try RunningProcess(executable("switchboard-sim"), ["run", "--dir", site.dir, "--load", "--rate", "600", "--concurrency", "10",
                                                                       "--patients", "200", "--checkpoint-every", "100000", "--checkpoint-seconds", "3600"])
        let grew = RunningProcess.waitUntil(timeout: 60) { (Int((try? E2E.value(site.audit, "SELECT max(seq) FROM audit_event")) ?? "") ?? 0) > Int(head)! + 20 }
        #expect(grew, "\(again.stderr)")
        let live = try run(executable("switchboard"), ["audit", "verify", "--config", site.config],
                           environment: ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")])
        #expect(live.status == 0 && live.stdout.contains("not yet covered by a signed checkpoint"), "\(live.stdout)\(live.stderr)")
        again.signal(SIGTERM)
        #expect(try again.waitForExit(timeout: 30) == 0)
    }
}
