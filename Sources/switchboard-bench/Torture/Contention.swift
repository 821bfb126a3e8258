import Foundation
import SwitchboardTesting

extension Torture {
    // MARK: Contention

    /// Two consoles (real binaries in tmux, driven by keys), two headless scripts
    /// (`review approve`/`correct`, `outbox retry`/`discard`) and the simulator's worker on
    /// the same bookings and outbox for a bounded time. Then: one decision per booking
    /// with one review audit row, every approval a script was told of kept, the outbox
    /// against what the EHR sandbox received (nothing sent twice, nothing lost), the chain
    /// intact, both consoles alive and quitting cleanly.
    func contention() throws {
        guard SwitchboardTesting.Tmux.isAvailable else { throw CaseFailure("tmux is not installed") }
        let seconds: TimeInterval = short ? 35 : 240
        let dir = scratch.path("contention")
        check("contention/consoles-scripts-worker", "2 consoles, 2 scripts and the agent's worker for \(Int(seconds)) s: one decision per booking, no send doubled or lost, chain intact",
              faults: 0) {
            // Calls fast enough to keep new bookings and outbox items coming all along.
            let sim = try startSimulator(dir, ["--load", "--rate", "240", "--concurrency", "20", "--warm-up-calls", "40", "--lease-seconds", "2"])
            var simRunning = true
            defer { if simRunning { sim.signal(SIGKILL); _ = try? sim.waitForExit(timeout: 10) } }
            let config = dir + "/switchboard.toml"
            let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite"
            _ = RunningProcess.waitUntil(timeout: 30) { ((try? self.undecided(audit, limit: 5)) ?? []).count >= 5 }

            let consoles = try (0..<2).map { n in
                try SwitchboardTesting.Tmux.start([tool("switchboard"), "--config", config], width: 120, height: 40,
                                                  environment: environment, name: "contention\(n)")
            }
            defer { consoles.forEach { $0.kill() } }
            usleep(1_500_000)

            // The scripts: each its own thread, a process after another, until the deadline.
            let deadline = Date().addingTimeInterval(seconds)
            let scripts = ContentionScripts()
            let switchboard = tool("switchboard"), scriptEnvironment = environment
            let reviewer = Thread {
                var round = 0
                while Date() < deadline {
                    round += 1
                    // Any undecided ones, not the oldest: the consoles approve from the top
                    // of the list and must win some of the races too.
                    let ids = (try? undecidedBookings(audit, limit: 12, anyOrder: true)) ?? []
                    if ids.isEmpty { usleep(200_000); continue }
                    if round % 3 == 0, let id = ids.last {
                        scripts.record(try? SwitchboardTesting.run(switchboard, ["review", "correct", id, "--config", config,
                                                                                         "--category", "should_not_exist", "--cancel", "--note", "torture"],
                                                                   environment: scriptEnvironment), approvals: false)
                    } else {
                        scripts.record(try? SwitchboardTesting.run(switchboard, ["review", "approve", "--config", config] + ids.shuffled(),
                                                                   environment: scriptEnvironment), approvals: true)
                    }
                }
                scripts.finished()
            }
            let onCall = Thread {
                var round = 0
                while Date() < deadline {
                    round += 1
                    if round % 4 == 0, let id = (try? sqlite3(outbox, "SELECT id FROM outbox_item WHERE status IN ('pending', 'failed') ORDER BY random() LIMIT 1"))?
                        .trimmingCharacters(in: .whitespacesAndNewlines), !id.isEmpty {
                        scripts.record(try? SwitchboardTesting.run(switchboard, ["outbox", "discard", id, "--reason", "torture", "--yes", "--config", config],
                                                                   environment: scriptEnvironment), approvals: false)
                    } else {
                        scripts.record(try? SwitchboardTesting.run(switchboard, ["outbox", "retry", "--all-matching", "--status", "pending,failed",
                                                                                         "--yes", "--config", config], environment: scriptEnvironment),
                                       approvals: false)
                    }
                    usleep(100_000)
                }
                scripts.finished()
            }
            reviewer.start(); onCall.start()

            // The consoles: one reviews (approve, move, bulk approve), the other switches
            // between Review and the Outbox (retry one, retry the view).
            // Decided rows hidden (`d`), so `a` lands on undecided ones; `g` back to the top.
            let reviewKeys: [[String]] = [["1"], ["a"], ["y"], ["j"], ["a"], ["y"], ["Space"], ["j"], ["Space"], ["A"], ["y"], ["g"], ["a"], ["y"]]
            let onCallKeys: [[String]] = [["4"], ["r"], ["y"], ["j"], ["r"], ["y"], ["R"], ["y"], ["v"], ["1"], ["g"], ["a"], ["y"], ["j"], ["a"], ["y"], ["Escape"]]
            for console in consoles { _ = try console.tmux(["send-keys", "-t", console.session, "d"]) }
            var step = 0
            while Date() < deadline {
                _ = try consoles[0].tmux(["send-keys", "-t", consoles[0].session] + reviewKeys[step % reviewKeys.count])
                _ = try consoles[1].tmux(["send-keys", "-t", consoles[1].session] + onCallKeys[step % onCallKeys.count])
                step += 1
                usleep(120_000)
            }
            try expect(scripts.wait(count: 2, timeout: 120), "the scripts did not stop")

            // Both consoles still up, then quit cleanly.
            for (n, console) in consoles.enumerated() {
                try expect(try console.exitStatus() == nil, "console \(n + 1) exited during the run: \((try? console.capture(history: true))?.suffix(300) ?? "")")
                for key in ["Escape", "Escape", "n", "Escape", "q"] { _ = try console.tmux(["send-keys", "-t", console.session, key]); usleep(150_000) }
                _ = RunningProcess.waitUntil(timeout: 10) { (try? console.exitStatus()) != nil }
                let status = try console.exitStatus()
                let screen = (try? console.capture(history: true)) ?? ""
                if screen.contains("Fatal error") || (status ?? 0) >= 128 { tally.traps += 1 }
                try expect(status == 0, "console \(n + 1) did not quit cleanly (exit \(status.map(String.init) ?? "none")): \(screen.suffix(300))")
            }
            tally.traps += scripts.traps
            try expect(scripts.traps == 0, "a script trapped: \(scripts.trapped)")
            try expect(scripts.runs > 10, "the scripts ran only \(scripts.runs) times")

            try finishSimulator(sim, dir)
            simRunning = false

            // Exactly one decision per booking, each with one review audit row; every
            // approval a script printed is on record.
            let decided = Set(try sqlite3(audit, "SELECT booking_id FROM review_decision").split(separator: "\n").map(String.init))
            let reviewRows = try sqlite3(audit, "SELECT json_extract(detail, '$.booking_id'), count(*) FROM audit_event WHERE action LIKE 'review.%' GROUP BY 1")
                .split(separator: "\n").map { $0.split(separator: "|") }
            let twice = reviewRows.filter { $0.count == 2 && Int($0[1]) ?? 0 > 1 }.count
            let withRow = Set(reviewRows.compactMap { $0.first.map(String.init) })
            let unaudited = decided.subtracting(withRow).count
            let lostApprovals = scripts.approved.subtracting(decided).count
            tally.checked += decided.count
            tally.doubled += twice
            tally.lost += unaudited + lostApprovals
            try expect(twice == 0, "\(twice) bookings with more than one review audit row")
            try expect(unaudited == 0, "\(unaudited) decisions without their audit row")
            try expect(lostApprovals == 0, "\(lostApprovals) approvals a script was told of are not on record")
            try expect(decided.count >= 10, "only \(decided.count) decisions: the contention proved little")
            // The consoles only approve; what the scripts were not told of is theirs.
            let approvedAll = Int(try sqlite3(audit, "SELECT count(*) FROM review_decision WHERE decision = 'approved'").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            let byConsoles = approvedAll - scripts.approved.count
            try expect(byConsoles > 0, "the consoles approved nothing: their keys did not reach the bookings")
            let ledger = try checkSends(dir)
            try verifyChain(dir)
            let kinds = try sqlite3(audit, "SELECT decision || ' ' || count(*) FROM review_decision GROUP BY decision").split(separator: "\n").joined(separator: ", ")
            let operatorRows = try sqlite3(audit, "SELECT action || ' ' || count(*) FROM audit_event WHERE action LIKE 'outbox.%' GROUP BY action").split(separator: "\n").joined(separator: ", ")
            print("       \(decided.count) decisions (\(kinds); \(scripts.approved.count) approvals told to the scripts, \(byConsoles) by the consoles), \(scripts.runs) script runs, \(step) key rounds")
            print("       operator outbox actions: \(operatorRows.isEmpty ? "none" : operatorRows); outbox: \(ledger.summary)")
        }
    }

    func undecided(_ audit: String, limit: Int) throws -> [String] { try undecidedBookings(audit, limit: limit) }
}

/// Up to `limit` undecided bookings that need review, oldest first.
func undecidedBookings(_ audit: String, limit: Int, anyOrder: Bool = false) throws -> [String] {
    try sqlite3(audit, """
        SELECT booking_id FROM booking WHERE review_required = 1 AND booking_id NOT IN (SELECT booking_id FROM review_decision)
        ORDER BY \(anyOrder ? "random()" : "booked_at") LIMIT \(limit)
        """).split(separator: "\n").map(String.init)
}

/// What the headless scripts did, from their threads.
final class ContentionScripts: @unchecked Sendable {
    private let lock = NSLock()
    private var _approved: Set<String> = []
    private var _runs = 0, _traps = 0, _done = 0
    private var _trapped: [String] = []

    func record(_ result: ProcessResult?, approvals: Bool) {
        lock.withLock {
            guard let result else { return }
            _runs += 1
            if result.status >= 128 || [4, 5, 6, 7, 8, 11].contains(result.status) || result.stderr.contains("Fatal error") {
                _traps += 1
                _trapped.append("exit \(result.status): \(result.stderr.prefix(200))")
            }
            if approvals {
                for line in result.stdout.split(separator: "\n") where line.hasSuffix(": approved") { _approved.insert(String(line.dropLast(10))) }
            }
        }
    }
    func finished() { lock.withLock { _done += 1 } }
    func wait(count: Int, timeout: TimeInterval) -> Bool {
        RunningProcess.waitUntil(timeout: timeout) { self.lock.withLock { self._done >= count } }
    }
    var approved: Set<String> { lock.withLock { _approved } }
    var runs: Int { lock.withLock { _runs } }
    var traps: Int { lock.withLock { _traps } }
    var trapped: String { lock.withLock { _trapped.prefix(2).joined(separator: "; ") } }
}
