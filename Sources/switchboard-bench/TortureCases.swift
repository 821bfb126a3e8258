import Foundation
import SwitchboardTesting

/// Bytes that must never reach a terminal from data: C0 controls but the ones ncurses
/// itself writes (BS, TAB, LF, CR, SO, SI, ESC), DEL, C1 controls (as UTF-8) and the bidi
/// overrides and isolates; and an OSC (ESC ]), which ncurses never sends but a name can.
func rawControlBytes(_ data: Data) -> Int {
    let bytes = [UInt8](data)
    var count = 0, i = 0
    while i < bytes.count {
        let b = bytes[i]
        if (b < 0x20 && ![0x08, 0x09, 0x0a, 0x0d, 0x0e, 0x0f, 0x1b].contains(b)) || b == 0x7f { count += 1 }
        else if b == 0x1b, i + 1 < bytes.count, bytes[i + 1] == 0x5d { count += 1 }
        else if b == 0xc2, i + 1 < bytes.count, (0x80...0x9f).contains(bytes[i + 1]) { count += 1 }
        else if b == 0xe2, i + 2 < bytes.count, (bytes[i + 1] == 0x80 && (0xaa...0xae).contains(bytes[i + 2]))
                    || (bytes[i + 1] == 0x81 && (0xa6...0xa9).contains(bytes[i + 2])) { count += 1 }
        i += 1
    }
    return count
}

extension Torture {
    // MARK: Rows

    /// Every column of every table of both files given one kind of bad value (a row each):
    /// `status`, `review list --json` and `audit export` must not trap, print nothing raw,
    /// and an export that succeeds is complete (one valid JSON object per row).
    func rows() throws {
        let site = try generate("rows-site", calls: short ? 200 : 1000, extra: ["--checkpoint-every", "50"])
        let kinds: [(String, String)] = [
            ("text", "'abc'"), ("extreme", "-9223372036854775808"), ("huge-real", "9e999"), ("blob", "x'ff00fe'"),
            ("invalid-utf8", "CAST(x'c328ff41' AS TEXT)"),
            ("control-bidi", "char(27) || ']0;PWNED' || char(7) || char(8238) || char(155) || 'x' || char(13) || char(0) || 'y'"),
            ("1mb-text", "replace(hex(zeroblob(500000)), '0', 'y')"),
        ]
        for (kind, value) in kinds {
            check("rows/\(kind)", "every column of every table set to \(kind): no trap, nothing raw out, exports complete") {
                let dir = scratch.path("rows-\(kind)")
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for file in try FileManager.default.contentsOfDirectory(atPath: site) {
                    try FileManager.default.copyItem(atPath: site + "/" + file, toPath: dir + "/" + file)
                }
                // Python's sqlite3 goes on past a column it cannot change (a unique key, say).
                var damaged = 0
                for file in ["audit.sqlite", "outbox.sqlite"] {
                    let result = try SwitchboardTesting.run("/usr/bin/python3", ["-c", """
                        import sqlite3, sys
                        c = sqlite3.connect(sys.argv[1], isolation_level=None)
                        c.execute("PRAGMA ignore_check_constraints = 1")
                        for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall(): c.execute(f'DROP TRIGGER "{t}"')
                        n = 0
                        tables = [t for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetchall()]
                        for i, t in enumerate(tables):
                            for (_, col, *_rest) in c.execute(f'PRAGMA table_info("{t}")').fetchall():
                                try:
                                    c.execute(f'UPDATE "{t}" SET "{col}" = {sys.argv[2]} WHERE rowid = (SELECT rowid FROM "{t}" ORDER BY rowid LIMIT 1 OFFSET {i + 3})'); n += 1
                                except sqlite3.Error: pass
                        print(n)
                        """, dir + "/" + file, value])
                    guard result.status == 0 else { throw CaseFailure("damaging \(file): \(result.stderr)") }
                    damaged += Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                }
                tally.faults += damaged - 1
                let paths = ["--audit", dir + "/audit.sqlite", "--outbox", dir + "/outbox.sqlite"]
                for command in [["status"], ["review", "list", "--json", "--limit", "100000"], ["review", "list", "--limit", "100000"]] {
                    let result = try program("switchboard", command + paths)
                    let raw = rawControlBytes(Data(result.stdout.utf8)) + rawControlBytes(Data(result.stderr.utf8))
                    tally.rawBytes += raw
                    try expect(raw == 0, "\(command.joined(separator: " ")) printed \(raw) raw control bytes")
                    try expect(result.status == 0 || result.stderr.split(separator: "\n").count <= 3,
                               "\(command.joined(separator: " ")) exit \(result.status) without a short message: \(result.stderr.prefix(300))")
                }
                let export = dir + "/export.ndjson"
                let result = try program("switchboard", ["audit", "export", "--audit", dir + "/audit.sqlite", "--format", "ndjson", "--out", export], timeout: 120)
                if result.status == 0 {
                    let rows = Int(try sqlite3(dir + "/audit.sqlite", "SELECT count(*) FROM audit_event").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
                    let lines = try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n")
                    let valid = lines.filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }.count
                    try expect(lines.count == rows && valid == rows, "export wrote \(lines.count) lines (\(valid) valid JSON) for \(rows) rows")
                } else {
                    try expect(result.stderr.split(separator: "\n").count <= 3, "export exit \(result.status) without a short message: \(result.stderr.prefix(300))")
                }
            }
        }
    }

    // MARK: Kills

    /// SIGKILL in the middle of writes, then the work done again: nothing committed lost,
    /// nothing doubled, the chain verifies.
    func kills() throws {
        try killBulkApprove()
        try killConsoleRetry()
        try killConsoleCorrection()
        try killSimulator()
    }

    /// `switchboard review approve` on every undecided booking, killed after a few tens of
    /// milliseconds, several times; then once to the end. Every booking it said it
    /// approved keeps its decision; every booking ends with exactly one decision and one
    /// review audit row; `audit verify` says intact.
    func killBulkApprove() throws {
        let site = try generate("kills-approve", calls: short ? 1500 : 4000, extra: ["--checkpoint-every", "50"])
        let audit = site + "/audit.sqlite"
        let ids = try sqlite3(audit, "SELECT booking_id FROM booking WHERE review_required = 1 AND booking_id NOT IN (SELECT booking_id FROM review_decision) ORDER BY booking_id")
            .split(separator: "\n").map(String.init)
        var said: Set<String> = []
        let rounds = short ? 3 : 8
        check("kills/review-approve", "SIGKILL of review approve on \(ids.count) bookings (\(rounds) times), then once more: none lost, none doubled, chain intact",
              faults: rounds) {
            try expect(ids.count >= 20, "only \(ids.count) undecided bookings")
            let decidedBefore = try decisions(audit)
            for round in 0..<rounds {
                let env = environment.map { "\($0.key)=\($0.value)" }
                let approve = try RunningProcess("/usr/bin/env", env + [tool("switchboard"), "review", "approve", "--audit", audit, "--outbox", site + "/outbox.sqlite"] + ids)
                // The kill waits for commits to show in the audit's write-ahead log (a loaded
                // machine may take longer to start than any fixed delay): after the first
                // in round 1, the third in round 2, and so on.
                var state = walState(audit + "-wal"), commits = 0
                let deadline = Date().addingTimeInterval(30)
                while commits < 1 + 2 * round && approve.process.isRunning && Date() < deadline {
                    let now = walState(audit + "-wal")
                    if now != state { commits += 1; state = now } else { usleep(100) }
                }
                try expect(approve.process.isRunning, "review approve ended before its kill (round \(round + 1)): \(approve.stderr.suffix(200))")
                approve.signal(SIGKILL)
                _ = try approve.waitForExit(timeout: 10)
                for line in approve.stdout.split(separator: "\n") where line.hasSuffix(": approved") { said.insert(String(line.dropLast(10))) }
            }
            // The kills came after commits: decisions were made before the last run.
            let madeByKilled = try decisions(audit) - decidedBefore
            print("       \(madeByKilled) decisions made by the killed runs (\(said.count) of them printed before the kill)")
            try expect(madeByKilled > 0, "no killed run committed a decision (the kills came too early)")
            let last = try program("switchboard", ["review", "approve", "--audit", audit, "--outbox", site + "/outbox.sqlite"] + ids, timeout: 120)
            try expect(last.status == 0 || last.status == 1, "the last run exit \(last.status): \(last.stderr.prefix(300))")
            let decided = Set(try sqlite3(audit, "SELECT booking_id FROM review_decision").split(separator: "\n").map(String.init))
            let lostOnes = said.subtracting(decided).count + Set(ids).subtracting(decided).count
            let auditRows = try sqlite3(audit, """
                SELECT json_extract(detail, '$.booking_id'), count(*) FROM audit_event WHERE action LIKE 'review.%' GROUP BY 1 HAVING count(*) > 1
                """).split(separator: "\n").count
            tally.checked += ids.count
            tally.lost += lostOnes
            tally.doubled += auditRows
            try expect(lostOnes == 0, "\(lostOnes) approvals lost")
            try expect(auditRows == 0, "\(auditRows) bookings with more than one review audit row")
            let verify = try program("switchboard", ["audit", "verify", "--audit", audit, "--key", site + "/audit-checkpoint.pub"])
            try expect(verify.status == 0, "audit verify exit \(verify.status): \(verify.stdout.prefix(300))")
        }
    }

    /// Decisions on file.
    func decisions(_ audit: String) throws -> Int {
        Int(try sqlite3(audit, "SELECT count(*) FROM review_decision").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// The simulator killed while calls write bookings and the outbox sends them; started
    /// again on the same directory until its calls are done. What was committed before the
    /// kill is still there, no appointment exists twice in the sandbox for one booking, no
    /// outbox item is sent twice, and the chain verifies.
    func killSimulator() throws {
        let dir = scratch.path("kills-sim")
        let rounds = short ? 2 : 5
        check("kills/simulator", "SIGKILL of switchboard-sim run mid-writes (\(rounds) times), restarted: nothing committed lost, nothing sent twice, chain intact",
              faults: rounds) {
            var committed: [(Int64, String)] = []
            var inFlight: Set<String> = []
            for round in 0..<rounds {
                // EHR answers take 150 ms (median): a kill finds sends under way.
                let sim = try RunningProcess(tool("switchboard-sim"), ["run", "--dir", dir, "--load", "--rate", "1200", "--concurrency", "20", "--lease-seconds", "1",
                                                                       "--fault-latency-ms", "150"])
                _ = RunningProcess.waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: dir + "/simulator.json") }
                usleep(useconds_t(1_500_000 + round * 700_000))
                sim.signal(SIGKILL)
                _ = try sim.waitForExit(timeout: 10)
                try? FileManager.default.removeItem(atPath: dir + "/simulator.json")
                // Items in flight at the kill: their leases must run out and they go out once.
                inFlight.formUnion(try sqlite3(dir + "/outbox.sqlite", "SELECT id FROM outbox_item WHERE status = 'in_flight'").split(separator: "\n").map(String.init))
                let row = try sqlite3(dir + "/audit.sqlite", "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1").trimmingCharacters(in: .whitespacesAndNewlines)
                let parts = row.split(separator: "|")
                if parts.count == 2, let seq = Int64(parts[0]) { committed.append((seq, String(parts[1]))) }
            }
            // Once more, to the end: the queued items go out.
            let finish = try program("switchboard-sim", ["run", "--dir", dir, "--load", "--calls", "5", "--exit-when-done", "--lease-seconds", "1"], timeout: 120)
            try expect(finish.status == 0, "the last run exit \(finish.status): \(finish.stderr.suffix(300))")
            var lostRows = 0
            for (seq, hash) in committed {
                let now = try sqlite3(dir + "/audit.sqlite", "SELECT hash FROM audit_event WHERE seq = \(seq)").trimmingCharacters(in: .whitespacesAndNewlines)
                if now != hash { lostRows += 1 }
            }
            let sandbox = dir + "/ehr-sandbox.sqlite"
            let twice = try sqlite3(sandbox, "SELECT identifier_key FROM appointment WHERE identifier_key IS NOT NULL GROUP BY 1 HAVING count(*) > 1").split(separator: "\n").count
            tally.lost += lostRows
            tally.doubled += twice
            try expect(lostRows == 0, "\(lostRows) audit rows committed before a kill are gone or changed")
            try expect(twice == 0, "\(twice) bookings have two appointments in the sandbox")
            // Every lease taken before a kill recovered: the item went out, exactly once.
            let list = inFlight.sorted().map { "'\($0)'" }.joined(separator: ",")
            let unrecovered = inFlight.isEmpty ? 0 : Int(try sqlite3(dir + "/outbox.sqlite", """
                SELECT count(*) FROM outbox_item WHERE id IN (\(list)) AND status NOT IN ('succeeded', 'failed', 'dead')
                """).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            tally.lost += max(0, unrecovered)
            try expect(unrecovered == 0, "\(unrecovered) of the \(inFlight.count) items in flight at a kill never finished")
            try expect(!inFlight.isEmpty, "no item was in flight at any kill: no send was cut")
            // The outbox against what the EHR sandbox itself received and applied.
            let ledger = try checkSends(dir)
            print("       outbox: \(ledger.summary); \(inFlight.count) items in flight at the kills")
            try verifyChain(dir)
        }
    }

    // MARK: Terminal

    /// The console in tmux on a history with hostile names: small, huge, dumb and colourless
    /// terminals, a resize storm, and a terminal closed under it. Every byte it writes is
    /// read raw (tmux pipe-pane) for control bytes that came from data.
    func terminal() throws {
        guard SwitchboardTesting.Tmux.isAvailable else { throw CaseFailure("tmux is not installed") }
        let site = try generate("terminal-site", calls: 300, extra: ["--hostile-data"])
        // The console waits for a line before it starts, so that the pane's raw output is
        // piped from its first byte: a console that refuses at once (TERM=dumb) printed its
        // refusal before the pipe was attached, and the case saw nothing.
        let console = ["/bin/sh", "-c", "read -r _ && exec \"$@\"", "sh",
                       tool("switchboard"), "--audit", site + "/audit.sqlite", "--outbox", site + "/outbox.sqlite"]
        let variants: [(String, Int, Int, [String: String])] = [
            ("20x5", 20, 5, [:]), ("400x120", 400, 120, [:]), ("TERM=dumb", 80, 24, ["TERM": "dumb"]),
            ("NO_COLOR", 80, 24, ["NO_COLOR": "1"]), ("resize-storm", 80, 24, [:]), ("SIGHUP", 80, 24, [:]),
        ]
        for (name, width, height, extra) in variants {
            check("terminal/\(name)", name == "SIGHUP" ? "the terminal closed under the console: it exits, no trap, nothing raw"
                  : "the console (\(name), \(width)x\(height)): quits on q, screen restored, no trap, nothing raw") {
                let tmux = try SwitchboardTesting.Tmux.start(console, width: width, height: height, environment: environment.merging(extra) { $1 }, name: "torture\(name)")
                defer { tmux.kill() }
                let raw = scratch.path("terminal-\(name.filter { $0.isLetter || $0.isNumber }).raw")
                _ = try tmux.tmux(["pipe-pane", "-o", "-t", tmux.session, "cat >> '\(raw)'"])
                _ = try tmux.tmux(["send-keys", "-t", tmux.session, "Enter"])
                usleep(300_000)
                _ = try tmux.tmux(["send-keys", "-t", tmux.session, "C-l"])
                usleep(1_500_000)
                if name == "resize-storm" {
                    for i in 0..<(short ? 20 : 100) { try tmux.resize(width: 10 + (i * 37) % 300, height: 3 + (i * 13) % 90); usleep(10_000) }
                    try tmux.resize(width: 80, height: 24)
                }
                for key in ["Tab", "Down", "Down", "Enter", "Escape"] { _ = try tmux.tmux(["send-keys", "-t", tmux.session, key]); usleep(150_000) }
                var status: Int32?
                if name == "SIGHUP" {
                    let shell = try tmux.display("#{pane_pid}")
                    let pids = try SwitchboardTesting.run("/usr/bin/pgrep", ["-f", "-P", shell, "switchboard"]).stdout.split(separator: "\n")
                    try expect(!pids.isEmpty, "no console process under the pane")
                    _ = try tmux.tmux(["kill-server"])
                    let gone = RunningProcess.waitUntil(timeout: 5) { pids.allSatisfy { kill(Int32($0) ?? 0, 0) != 0 } }
                    try expect(gone, "the console still runs after its terminal closed")
                } else {
                    _ = try tmux.tmux(["send-keys", "-t", tmux.session, "q"])
                    _ = RunningProcess.waitUntil(timeout: 10) { (try? tmux.exitStatus()) != nil }
                    status = try tmux.exitStatus()
                    let screen = (try? tmux.capture(history: true)) ?? ""
                    if screen.contains("Fatal error") || (status ?? 0) >= 128 { tally.traps += 1 }
                    try expect(status != nil, "did not quit on q: \(screen.prefix(300))")
                    try expect(status == 0 || (extra["TERM"] == "dumb" && status! < 128 && status! > 1),
                               "exit \(status!): \(screen.suffix(300))")
                    try expect(try tmux.display("#{alternate_on}") == "0", "the terminal was left in the alternate screen")
                }
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: raw))) ?? Data()
                let count = rawControlBytes(bytes)
                tally.rawBytes += count
                try expect(!bytes.isEmpty || name == "SIGHUP", "nothing was captured from the pane")
                try expect(count == 0, "\(count) raw control bytes in the pane output")
            }
        }
    }
}
