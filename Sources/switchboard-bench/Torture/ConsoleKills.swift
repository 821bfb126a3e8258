import Foundation
import SwitchboardTesting

extension Torture {
    // MARK: Kills of the console

    /// The console (real binary in tmux, driven by keys) SIGKILLed in the middle of a bulk
    /// retry (Outbox screen, stuck view, `R` then `y`) of the dead items (once with --short,
    /// twice without), as soon as the first retried ones show in the outbox. Then the simulator sends what was retried: every retried
    /// item has its `outbox.retry` audit row, nothing is lost or sent twice by the EHR
    /// sandbox's own record, the chain verifies.
    func killConsoleRetry() throws {
        guard SwitchboardTesting.Tmux.isAvailable else { throw CaseFailure("tmux is not installed") }
        let dir = scratch.path("kills-retry")
        let rounds = short ? 1 : 2
        check("kills/console-bulk-retry", "SIGKILL of the console mid bulk retry (R on the stuck view, killed once the first retried items show), then sent: every retry audited, none lost, none doubled, chain intact",
              faults: rounds) {
            let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite"
            // Dead items, for real: every appointment update refused by the EHR (412, as if
            // someone else had changed it), for a while.
            let sim = try startSimulator(dir, ["--load", "--rate", "3000", "--concurrency", "40", "--lease-seconds", "2", "--fault-conflict-rate", "1"])
            var simRunning = true
            defer { if simRunning { sim.signal(SIGKILL); _ = try? sim.waitForExit(timeout: 10) } }
            // The agent's worker sends the retried ones about one a second here: few, with --short.
            _ = RunningProcess.waitUntil(timeout: short ? 10 : 60) { ((try? self.count(outbox, "status = 'dead'")) ?? 0) >= (short ? 20 : 300) }
            sim.signal(SIGTERM)
            try expect(try sim.waitForExit(timeout: 60) == 0, "the simulator did not stop on SIGTERM: \(sim.stderr.suffix(300))")
            simRunning = false

            var killed = 0, retriedTotal = 0, unaudited: [String] = []
            for round in 0..<rounds {
                let failed = Set(try sqlite3(outbox, "SELECT id FROM outbox_item WHERE status IN ('failed', 'dead')").split(separator: "\n").map(String.init))
                try expect(failed.count >= 20, "only \(failed.count) stuck items before round \(round + 1)")
                let console = try SwitchboardTesting.Tmux.start([tool("switchboard"), "--config", dir + "/switchboard.toml"], width: 120, height: 40,
                                                                environment: environment, name: "killretry\(round)")
                defer { console.kill() }
                usleep(1_500_000)
                _ = try console.tmux(["send-keys", "-t", console.session, "4"]); usleep(600_000)
                _ = try console.tmux(["send-keys", "-t", console.session, "R"]); usleep(600_000)
                let screen = try console.capture()
                try expect(screen.lowercased().contains("retry"), "no confirm after R: \(screen.suffix(400))")
                let pid = try consolePID(console)
                // Kill as soon as the first retried items show in the outbox (the console's
                // other writes, e.g. its audited EHR searches, make the logs' sizes no guide).
                _ = try console.tmux(["send-keys", "-t", console.session, "y"])
                let seen = RunningProcess.waitUntil(timeout: 15) { ((try? self.count(outbox, "status IN ('failed', 'dead')")) ?? failed.count) < failed.count }
                kill(pid, SIGKILL)
                try expect(seen, "the console retried nothing within 15 s of y: \((try? console.capture())?.suffix(300) ?? "")")
                try expect(RunningProcess.waitUntil(timeout: 5) { kill(pid, 0) != 0 }, "the console outlived SIGKILL")
                killed += 1

                let pending = Set(try sqlite3(outbox, "SELECT id FROM outbox_item WHERE status = 'pending'").split(separator: "\n").map(String.init))
                let retried = failed.intersection(pending)
                let rows = Set(try sqlite3(audit, "SELECT json_extract(detail, '$.item_id') FROM audit_event WHERE action = 'outbox.retry'")
                    .split(separator: "\n").map(String.init))
                let missing = retried.subtracting(rows)
                print("       round \(round + 1): \(failed.count) stuck, \(retried.count) retried before the kill, \(missing.count) of them without an outbox.retry audit row")
                retriedTotal += retried.count
                unaudited += missing.sorted()
            }
            try expect(killed == rounds, "only \(killed) kills landed")
            try expect(retriedTotal > 0, "no retry was committed before a kill: the kill came too early")

            // The agent sends what was retried (and what is still failed, on its backoff).
            let finish = try program("switchboard-sim", ["run", "--dir", dir, "--load", "--calls", "1", "--exit-when-done", "--lease-seconds", "1"], timeout: 180)
            try expect(finish.status == 0, "the draining run exit \(finish.status): \(finish.stderr.suffix(300))")
            tally.lost += unaudited.count
            try expect(unaudited.isEmpty, "\(unaudited.count) items retried without their outbox.retry audit row (the outbox committed, the console was killed before the audit did): \(unaudited.prefix(3).joined(separator: ", "))")
            let ledger = try checkSends(dir)
            print("       outbox: \(ledger.summary)")
            try verifyChain(dir)
        }
    }

    /// The console SIGKILLed in the middle of a correction ("should not exist": the EHR
    /// appointment cancelled), on the directory `killConsoleRetry` left (simulator stopped):
    /// at the first outbox commit (the change queued held, no decision yet) and at the
    /// first audit commit (the decision on record, the change still held). Then on call does
    /// what the Outbox screen says: releases held items whose decision is on record (`outbox
    /// retry`, which refuses the others) and discards the rest; the agent sends. Checked: a
    /// decision per correction with one review audit row, nothing held left, no change sent
    /// without its decision, nothing lost or doubled by the sandbox's record, chain intact.
    func killConsoleCorrection() throws {
        guard SwitchboardTesting.Tmux.isAvailable else { throw CaseFailure("tmux is not installed") }
        let dir = scratch.path("kills-retry")
        let rounds = 2
        check("kills/console-correction", "SIGKILL of the console mid correction (at its outbox commit, at its decision), then released or discarded and sent: none lost, none sent undecided, none doubled, chain intact",
              faults: rounds) {
            let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite"
            try expect(FileManager.default.fileExists(atPath: audit), "no directory from kills/console-bulk-retry")
            var killed: [String] = []
            for round in 0..<rounds {
                let console = try SwitchboardTesting.Tmux.start([tool("switchboard"), "--config", dir + "/switchboard.toml"], width: 120, height: 40,
                                                                environment: environment, name: "killcorrect\(round)")
                defer { console.kill() }
                usleep(1_500_000)
                for key in ["1", "d", "g", "c"] { _ = try console.tmux(["send-keys", "-t", console.session, key]); usleep(400_000) }
                var screen = try console.capture()
                guard let id = screen.firstMatch(of: #/Correct (\S+) /#).map({ String($0.1) }) else {
                    throw CaseFailure("no correction form after c: \(screen.suffix(400))")
                }
                // "should not exist": the fifth category.
                for _ in 0..<4 { _ = try console.tmux(["send-keys", "-t", console.session, "Right"]); usleep(100_000) }
                screen = try console.capture()
                try expect(screen.contains("should not exist"), "the category is not \"should not exist\": \(screen.suffix(400))")
                let pid = try consolePID(console)
                let watched = (round == 0 ? outbox : audit) + "-wal"
                let before = walState(watched)
                _ = try console.tmux(["send-keys", "-t", console.session, "Enter"])
                let deadline = Date().addingTimeInterval(15)
                while walState(watched) == before && Date() < deadline { usleep(100) }
                kill(pid, SIGKILL)
                try expect(walState(watched) != before, "the console wrote nothing to \(watched) within 15 s of Enter: \((try? console.capture())?.suffix(300) ?? "")")
                _ = RunningProcess.waitUntil(timeout: 5) { kill(pid, 0) != 0 }
                killed.append(id)
            }
            let held = try sqlite3(outbox, "SELECT id, booking_id FROM outbox_item WHERE status = 'pending' AND idempotency_key LIKE 'correction:%'")
                .split(separator: "\n").map { $0.split(separator: "|").map(String.init) }.filter { $0.count == 2 }
            let decided = Set(try sqlite3(audit, "SELECT booking_id FROM review_decision").split(separator: "\n").map(String.init))
            print("       killed correcting \(killed.joined(separator: ", ")); \(held.count) corrections held after the kills, \(held.filter { decided.contains($0[1]) }.count) of them decided")
            try expect(held.count >= 1, "no correction was left held by a kill: the kills missed")
            // On call: release what is decided (retry refuses the undecided), discard the rest.
            var released: Set<String> = [], discarded: Set<String> = []
            // Release each; `outbox retry` refuses one whose decision is missing or is another
            // correction's (a second correction of a booking decided meanwhile): discard those.
            for item in held {
                let release = try program("switchboard", ["outbox", "retry", item[0], "--yes", "--config", dir + "/switchboard.toml"])
                if release.status == 0 {
                    try expect(decided.contains(item[1]), "an undecided correction was released: \(item[0])")
                    released.insert(item[0])
                } else {
                    try expect(release.stderr.contains("discard it") || !decided.contains(item[1]),
                               "releasing \(item[0]) exit \(release.status): \(release.stderr.prefix(300))")
                    let result = try program("switchboard", ["outbox", "discard", item[0], "--reason", "torture: killed before its decision was on record", "--yes",
                                                             "--config", dir + "/switchboard.toml"])
                    try expect(result.status == 0, "discarding \(item[0]) exit \(result.status): \(result.stderr.prefix(300))")
                    discarded.insert(item[0])
                }
            }
            let finish = try program("switchboard-sim", ["run", "--dir", dir, "--load", "--calls", "1", "--exit-when-done", "--lease-seconds", "1"], timeout: 180)
            try expect(finish.status == 0, "the draining run exit \(finish.status): \(finish.stderr.suffix(300))")
            // Each decided correction: one review audit row, its change sent; none sent undecided.
            let reviewRows = try sqlite3(audit, "SELECT json_extract(detail, '$.booking_id'), count(*) FROM audit_event WHERE action LIKE 'review.%' GROUP BY 1 HAVING count(*) > 1")
                .split(separator: "\n").count
            let sentUndecided = try sqlite3(outbox, """
                SELECT id FROM outbox_item WHERE idempotency_key LIKE 'correction:%' AND status = 'succeeded'
                """).split(separator: "\n").map(String.init).filter { discarded.contains($0) }.count
            // Released ones are finished: sent, or refused by the EHR with its reason (a 412
            // when the appointment changed since the correction was queued).
            let unsent = try count(outbox, "id IN (\(released.map { "'\($0)'" }.joined(separator: ",").nonEmpty ?? "''")) AND (status IN ('pending', 'in_flight') OR last_error IS NULL AND status <> 'succeeded')")
            tally.doubled += reviewRows + sentUndecided
            tally.lost += unsent
            try expect(reviewRows == 0, "\(reviewRows) bookings with more than one review audit row")
            try expect(sentUndecided == 0, "\(sentUndecided) corrections sent without their decision")
            try expect(unsent == 0, "\(unsent) released corrections never finished")
            _ = try checkSends(dir)
            try verifyChain(dir)
        }
    }

    /// The console's own process under a tmux pane (the pane runs `sh -c`, which runs it).
    func consolePID(_ console: SwitchboardTesting.Tmux) throws -> pid_t {
        let shell = try console.display("#{pane_pid}")
        let pids = try SwitchboardTesting.run("/usr/bin/pgrep", ["-f", "-P", shell, "switchboard"]).stdout
            .split(separator: "\n").compactMap { pid_t($0) }
        guard let pid = pids.first else { throw CaseFailure("no console process under the pane") }
        return pid
    }

    /// Size and modification time of a write-ahead log, empty while it is absent or empty
    /// (a reader creates it empty): changes on every commit.
    func walState(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return [] }
        return [Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
    }

    /// Outbox items matching `condition`.
    func count(_ outbox: String, _ condition: String) throws -> Int {
        Int(try sqlite3(outbox, "SELECT count(*) FROM outbox_item WHERE \(condition)").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
}

extension String {
    /// nil when empty.
    var nonEmpty: String? { isEmpty ? nil : self }
}
