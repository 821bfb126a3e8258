import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// A script retries every failed item matching an error text while the simulated agent
/// drains the same queue: nothing is sent twice at once, nothing booked twice in the EHR,
/// and there is exactly one audit row per retry the script reports.
@Suite(.serialized) struct RetryWhileDrainingTests {
    static func count(_ path: String, _ sql: String) throws -> Int {
        Int(try sqlite3(path, sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    static func setFaults(dir: String, _ json: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/simulator.json"))
        let control = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["control_url"] as? String)
        let answer = try run("/usr/bin/curl", ["-sS", "-m", "5", "-X", "POST", "-H", "Content-Type: application/json", "-d", json, control + "/faults"], timeout: 10)
        try #require(answer.status == 0 && answer.stdout.contains(#""faults""#), "faults \(json): \(answer.stdout) \(answer.stderr)")
    }

    @Test func aBulkRetryRacingTheAgentSendsNothingTwice() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite", ehr = dir + "/ehr-sandbox.sqlite"
        // Half the EHR's answers are 500s: writes fail, retry with backoff, and pile up as failed.
        let sim = try RunningProcess(executable("switchboard-sim"), ["run", "--dir", dir, "--load", "--rate", "600", "--concurrency", "30",
                                                                      "--patients", "200", "--fault-error-rate", "0.6"])
        defer { sim.signal(SIGKILL) }
        let failing = "SELECT count(*) FROM outbox_item WHERE status = 'failed' AND last_error LIKE '%internal error%'"
        // A few at once is enough for a race; how fast they pile up depends on the machine's load.
        #expect(RunningProcess.waitUntil(timeout: 150) { ((try? Self.count(outbox, failing)) ?? 0) >= 6 }, "\(sim.stderr)")
        let config = scratch.path("config.toml")
        try "# the files are this user's own: an operator without a policy\n".write(toFile: config, atomically: true, encoding: .utf8)
        // The EHR gets better but still fails some: the agent's drain worker keeps trying
        // and failing the same items the script retries, round after round.
        try Self.setFaults(dir: dir, #"{"errorRate":0.3}"#)
        var retried = 0, runs: [ProcessResult] = []
        for round in 0 ..< 6 {
            if round == 4 { try Self.setFaults(dir: dir, "{}") }
            usleep(300_000)
            let result = try run(executable("switchboard"), ["outbox", "retry", "--all-matching", "--status", "failed", "--error", "internal error",
                                                             "--yes", "--audit", audit, "--outbox", outbox, "--config", config],
                                 environment: ["XDG_CONFIG_HOME": scratch.path("xdg"), "XDG_STATE_HOME": scratch.path("xdg"), "HOME": scratch.path("home")])
            runs.append(result)
            #expect(result.status == 0 || result.status == 75, "\(result.stdout) \(result.stderr)")
            let summary = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
            #expect(summary.hasPrefix("retried "), "\(result.stdout)")
            retried += Int(summary.dropFirst("retried ".count).prefix { $0.isNumber }) ?? 0
        }
        #expect(retried > 0, "the script found nothing to retry: \(runs.map(\.stdout))")
        // Let the agent drain, then stop it.
        #expect(RunningProcess.waitUntil(timeout: 60) {
            ((try? Self.count(outbox, "SELECT count(*) FROM outbox_item WHERE status IN ('failed', 'in_flight') OR (status = 'pending' AND next_attempt_at < \(Clock.nowMillis() - 5_000))")) ?? 1) == 0
        })
        sim.signal(SIGTERM)
        _ = try sim.waitForExit(timeout: 30)

        // One audit row per retry reported, each naming the OS user as operator: a row goes in
        // before each change, and an item the agent took meanwhile gets a second, "not done"
        // row (outcome 4, docs/data-contract.md), so the rows less the not-done ones are the retries.
        let attempted = try Self.count(audit, "SELECT count(*) FROM audit_event WHERE action = 'outbox.retry' AND outcome = 0")
        let notDone = try Self.count(audit, "SELECT count(*) FROM audit_event WHERE action = 'outbox.retry' AND outcome = 4")
        #expect(attempted - notDone == retried, "\(attempted) rows, \(notDone) not done, \(retried) retried")
        #expect(try Self.count(audit, "SELECT count(*) FROM audit_event WHERE action = 'outbox.retry' AND actor NOT LIKE 'operator:%'") == 0)
        // Never two tries of one item at once: each try ended before the next began.
        #expect(try Self.count(outbox, """
            SELECT count(*) FROM outbox_attempt a JOIN outbox_attempt b ON a.item_id = b.item_id AND a.attempt < b.attempt
            WHERE b.started_at < a.ended_at
            """) == 0)
        // At most one success per item, and one appointment per booking in the EHR.
        #expect(try Self.count(outbox, "SELECT count(*) FROM (SELECT item_id FROM outbox_attempt WHERE outcome = 'success' GROUP BY item_id HAVING count(*) > 1)") == 0)
        let inEHR = try sqlite3(ehr, "SELECT identifier_key FROM appointment WHERE identifier_key LIKE 'urn:switchboard:booking|%'")
            .split(separator: "\n").map(String.init)
        #expect(Set(inEHR).count == inEHR.count, "an appointment was created twice")
        #expect(try AuditStore(path: audit, mode: .readOnly).verifyChain().isIntact)
    }
}
