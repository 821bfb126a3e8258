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
        let scratch = Scratch("audit-tampering-original")
        let dir = scratch.path("db")
        let result = try! run(executable("switchboard-sim"), ["generate", "--out", dir, "--calls", "80", "--checkpoint-every", "50"], timeout: 60)
        precondition(result.status == 0, "generate failed: \(result.stderr)")
        return (dir, Int64(try! E2E.value(dir + "/audit.sqlite", "SELECT max(seq) FROM audit_event"))!)
    }()

    /// Drops the guards as someone with the file would.
    static let unguard = """
        DROP TRIGGER audit_event_is_append_only_update; DROP TRIGGER audit_event_is_append_only_delete;
        PRAGMA ignore_check_constraints = 1;
        """

    enum Tampering: String, CaseIterable, CustomTestStringConvertible {
        case editColumn, transportToAnotherWord, transportToUnknownWord, outcomeToAnotherCode, outcomeToUnknownCode
        case deleteFirst, deleteMiddle, deleteLast, deleteLast100, insert, forgedAppend, swapTwoRows, rehashAfterEdit
        var testDescription: String { rawValue }
    }

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

        /// Rows as the sqlite3 tool prints them (`-json`), decoded into audit events, so
        /// a forger can compute hashes with the documented algorithm.
        func events(_ whereClause: String) throws -> [AuditEvent] {
            let json = try run("/usr/bin/sqlite3", ["-json", audit, "SELECT * FROM audit_event WHERE \(whereClause) ORDER BY seq"]).stdout
            if json.isEmpty { return [] }
            return try JSONDecoder().decode([AuditEvent].self, from: Data(json.utf8))
        }
    }

    /// `audit chain BROKEN at row N: …` → N.
    static func brokenSeq(_ output: String) -> Int64? {
        guard let range = output.range(of: "BROKEN at row ") else { return nil }
        return Int64(output[range.upperBound...].prefix { $0.isNumber })
    }

    static func quote(_ text: String?) -> String {
        text.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL"
    }

    static func insertSQL(_ e: AuditEvent) -> String {
        """
        INSERT INTO audit_event (seq, at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id,
            outcome, http_status, latency_ms, attempt, detail, prev_hash, hash)
        VALUES (\(e.seq!), \(e.at), \(quote(e.actor)), \(quote(e.callId)), \(quote(e.action)), \(quote(e.ehrSystem)),
            \(quote(e.transport?.rawValue)), \(quote(e.method)), \(quote(e.resourceType)), \(quote(e.resourceId)), \(e.outcome.rawValue),
            \(e.httpStatus.map(String.init) ?? "NULL"), \(e.latencyMs.map(String.init) ?? "NULL"), \(e.attempt.map(String.init) ?? "NULL"),
            \(quote(e.detail)), \(quote(e.prevHash)), \(quote(e.hash)));
        """
    }

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

    @Test(arguments: Tampering.allCases)
    func eachTamperingIsFoundAndNamed(_ tampering: Tampering) throws {
        let copy = try Copy(name: "tamper-\(tampering.rawValue)"); defer { copy.scratch.cleanUp() }
        let before = try copy.verify()
        try #require(before.status == 0, "the copy is intact first: \(before.stdout)")
        let head = Self.original.head
        let k: Int64 = 120
        let expected: Int64
        var says: String
        switch tampering {
        case .editColumn:
            // Every column but transport and outcome (their own cases), one copy each.
            let edits = ["at = at + 1", "actor = actor || 'x'", "call_id = 'call-forged'", "action = 'patient.delete'",
                         "ehr_system = 'elsewhere'", "method = 'DELETE'", "resource_type = 'Coverage'", "resource_id = 'Patient/p1'",
                         "http_status = 599", "latency_ms = 1", "attempt = 9", "detail = '{}'",
                         "prev_hash = substr(prev_hash, 2) || '0'", "hash = substr(hash, 2) || '0'"]
            for edit in edits {
                let one = try Copy(name: "tamper-edit"); defer { one.scratch.cleanUp() }
                try one.sql(Self.unguard + "UPDATE audit_event SET \(edit) WHERE seq = \(k);")
                let result = try one.verify()
                #expect(result.status == 65 && Self.brokenSeq(result.stdout) == k, "\(edit): \(result.stdout)")
            }
            return
        case .transportToAnotherWord:
            try copy.sql(Self.unguard + "UPDATE audit_event SET transport = CASE transport WHEN 'fhir' THEN 'hl7v2' ELSE 'fhir' END WHERE seq = \(k);")
            (expected, says) = (k, "hash does not match")
        case .transportToUnknownWord:
            try copy.sql(Self.unguard + "UPDATE audit_event SET transport = 'smoke-signal' WHERE seq = \(k);")
            (expected, says) = (k, "not a known transport")
        case .outcomeToAnotherCode:
            try copy.sql(Self.unguard + "UPDATE audit_event SET outcome = CASE outcome WHEN 0 THEN 8 ELSE 0 END WHERE seq = \(k);")
            (expected, says) = (k, "hash does not match")
        case .outcomeToUnknownCode:
            try copy.sql(Self.unguard + "UPDATE audit_event SET outcome = 5 WHERE seq = \(k);")
            (expected, says) = (k, "not a FHIR AuditEvent outcome")
        case .deleteFirst:
            try copy.sql(Self.unguard + "DELETE FROM audit_event WHERE seq = 1;")
            (expected, says) = (1, "row 1 is missing")
        case .deleteMiddle:
            try copy.sql(Self.unguard + "DELETE FROM audit_event WHERE seq = \(k);")
            (expected, says) = (k, "is missing")
        case .deleteLast:
            try copy.sql(Self.unguard + "DELETE FROM audit_event WHERE seq = \(head);")
            (expected, says) = (head, "missing at the end")
        case .deleteLast100:
            try copy.sql(Self.unguard + "DELETE FROM audit_event WHERE seq > \(head - 100);")
            (expected, says) = (head - 99, "missing at the end")
        case .insert:
            // Rows after k move up one; the new row k+1 links to k and has a valid hash.
            let previous = try #require(try copy.events("seq = \(k)").first)
            var forged = AuditEvent(seq: k + 1, at: previous.at + 1, actor: previous.actor, callId: previous.callId, action: "patient.search",
                                    ehrSystem: previous.ehrSystem, transport: .fhir, method: "GET", resourceType: "Patient",
                                    outcome: .success, httpStatus: 200, latencyMs: 50, attempt: 1, detail: "{}", prevHash: previous.hash)
            forged.hash = AuditChain.hash(forged)
            try copy.sql(Self.unguard + """
                UPDATE audit_event SET seq = -(seq + 1) WHERE seq > \(k);
                UPDATE audit_event SET seq = -seq WHERE seq < 0;
                """ + Self.insertSQL(forged))
            (expected, says) = (k + 1, "inserted")
        case .forgedAppend:
            let last = try #require(try copy.events("seq = \(head)").first)
            var forged = last
            forged.seq = head + 1
            forged.actor = "agent:sim-history"
            forged.at = last.at + 1000
            forged.prevHash = last.hash
            forged.hash = AuditChain.hash(forged)
            try copy.sql(Self.insertSQL(forged))
            (expected, says) = (head + 1, "closing checkpoint")
        case .swapTwoRows:
            try copy.sql(Self.unguard + """
                CREATE TEMP TABLE saved AS SELECT * FROM audit_event WHERE seq IN (110, 130);
                UPDATE audit_event SET (at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id,
                    outcome, http_status, latency_ms, attempt, detail, prev_hash, hash) =
                    (SELECT at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id,
                        outcome, http_status, latency_ms, attempt, detail, prev_hash, hash FROM saved WHERE saved.seq = 240 - audit_event.seq)
                WHERE seq IN (110, 130);
                """)
            (expected, says) = (110, "")
        case .rehashAfterEdit:
            // Edit row k, then re-hash and re-link every row after it, as the documented
            // algorithm allows anyone to: only the signed checkpoints can tell.
            var rows = try copy.events("seq >= \(k)")
            rows[0].latencyMs = (rows[0].latencyMs ?? 0) + 1
            var prev = try #require(try copy.events("seq = \(k - 1)").first).hash
            var script = Self.unguard
            for var row in rows {
                row.prevHash = prev
                row.hash = AuditChain.hash(row)
                prev = row.hash
                script += "UPDATE audit_event SET latency_ms = \(row.latencyMs.map(String.init) ?? "NULL"), prev_hash = '\(row.prevHash)', hash = '\(row.hash)' WHERE seq = \(row.seq!);\n"
            }
            try copy.sql(script)
            // The last checkpoint before the edit still matches (100); the next (150) does not.
            (expected, says) = (101, "re-hashed")
        }
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
        FileManager.default.createFile(atPath: scratch.path("junk.sqlite"), contents: Data("not a database at all, just text".utf8))
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
        let enough = try RunningProcess.waitUntil(timeout: 60) {
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
        let grew = try RunningProcess.waitUntil(timeout: 60) { (Int((try? E2E.value(site.audit, "SELECT max(seq) FROM audit_event")) ?? "") ?? 0) > Int(head)! + 20 }
        #expect(grew, "\(again.stderr)")
        let live = try run(executable("switchboard"), ["audit", "verify", "--config", site.config],
                           environment: ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")])
        #expect(live.status == 0 && live.stdout.contains("not yet covered by a signed checkpoint"), "\(live.stdout)\(live.stderr)")
        again.signal(SIGTERM)
        #expect(try again.waitForExit(timeout: 30) == 0)
    }
}
