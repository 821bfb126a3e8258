import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import Testing

/// `switchboard outbox …` as a script runs it: the Outbox screen's rules, one audit row
/// per action, sysexits.
@Suite struct OutboxCommandTests {
    static func auditRows(_ site: SmallSite, _ action: String) throws -> [String] {
        try sqlite3(site.auditPath, "SELECT json_extract(detail, '$.item_id') FROM audit_event WHERE action = '\(action)' ORDER BY seq")
            .split(separator: "\n").map(String.init)
    }

    @Test func discardWithoutAReasonIsRefusedAndChangesNothing() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.item("ob-1", status: .dead, createdAt: Clock.nowMillis(), error: "HTTP 422", httpStatus: 422)
        for arguments in [["outbox", "discard", "ob-1", "--yes"], ["outbox", "discard", "ob-1", "--reason", "  ", "--yes"]] {
            let refused = try site.switchboard(arguments)
            #expect(refused.status == 64, "\(refused.stderr)")
            #expect(refused.stderr.contains("--reason"))
        }
        #expect(try site.outbox.item(id: "ob-1")?.status == .dead)
        #expect(try Self.auditRows(site, "outbox.discard").isEmpty)

        let discarded = try site.switchboard(["outbox", "discard", "ob-1", "--reason", "booked by phone instead", "--yes"])
        #expect(discarded.status == 0, "\(discarded.stderr)")
        #expect(discarded.stdout == "discarded 1\n")
        #expect(try site.outbox.item(id: "ob-1")?.status == .discarded)
        #expect(try Self.auditRows(site, "outbox.discard") == ["ob-1"])
        let reason = try sqlite3(site.auditPath, "SELECT json_extract(detail, '$.reason') FROM audit_event WHERE action = 'outbox.discard'")
        #expect(reason == "booked by phone instead\n")
        #expect(try site.audit.verifyChain().isIntact)
    }

    @Test func aScriptMustSayYesAndAViewerMayNotAct() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.item("ob-1", status: .failed, createdAt: Clock.nowMillis(), error: "HTTP 502", httpStatus: 502)
        let unconfirmed = try site.switchboard(["outbox", "retry", "ob-1"])
        #expect(unconfirmed.status == 64 && unconfirmed.stderr.contains("--yes"), "\(unconfirmed.stderr)")
        #expect(try site.outbox.item(id: "ob-1")?.status == .failed)

        let viewer = try site.switchboard(["outbox", "retry", "ob-1", "--yes"], policy: try site.scratch.policy(everyone: "viewer"))
        #expect(viewer.status == 77 && viewer.stderr.contains("operator role"), "\(viewer.stderr)")
        #expect(try Self.auditRows(site, "outbox.retry").isEmpty)
    }

    @Test func aViewerIsNotShownTheEHRsAnswerNorFindsItemsByIt() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        // An EHR's diagnostics (and a discard's reason) can name the patient.
        _ = try site.item("ob-1", status: .dead, createdAt: Clock.nowMillis(), error: "HTTP 422: Omar Sahin already has a visit at 10:00", httpStatus: 422)
        let viewer = try site.scratch.policy(everyone: "viewer")
        for arguments in [["outbox", "list"], ["outbox", "list", "--json"], ["outbox", "show", "ob-1"], ["outbox", "show", "ob-1", "--json"]] {
            let shown = try site.switchboard(arguments, policy: viewer)
            #expect(shown.status == 0 && shown.stdout.contains("ob-1") && shown.stdout.contains("•••"), "\(arguments): \(shown.stdout) \(shown.stderr)")
            #expect(!shown.stdout.contains("Sahin") && !shown.stderr.contains("Sahin"), "\(arguments): \(shown.stdout)")
        }
        #expect(try site.switchboard(["outbox", "show", "ob-1"], policy: viewer).stdout.contains("422"), "the status is not patient data")
        // Finding items by the hidden words would tell what they say.
        let searched = try site.switchboard(["outbox", "list", "--error", "sahin"], policy: viewer)
        #expect(searched.status == 77 && searched.stderr.contains("--error") && !searched.stdout.contains("ob-1"), "\(searched.stdout) \(searched.stderr)")

        let onCall = try site.switchboard(["outbox", "list", "--error", "sahin"])
        #expect(onCall.status == 0 && onCall.stdout.contains("ob-1") && onCall.stdout.contains("Omar Sahin"), "\(onCall.stdout)")
    }

    @Test func retryingAPermanentRefusalWarnsAndNeedsForceInAScript() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.item("ob-412", status: .dead, createdAt: now - 60_000, error: "HTTP 412: version conflict", httpStatus: 412, bookingId: "bk-7")
        try site.item("ob-502", status: .failed, createdAt: now - 50_000, error: "HTTP 502", httpStatus: 502)
        let refused = try site.switchboard(["outbox", "retry", "ob-412", "ob-502", "--yes"])
        #expect(refused.status == 65, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stdout == "retried 1, refused 1\n")
        #expect(refused.stderr.contains("warning: ob-412: the EHR's last answer was HTTP 412"))
        #expect(refused.stderr.contains("look at the appointment in the EHR, then discard this item"), "the agent's write: \(refused.stderr)")
        #expect(try site.outbox.item(id: "ob-412")?.status == .dead)
        #expect(try site.outbox.item(id: "ob-502")?.status == .pending)

        let forced = try site.switchboard(["outbox", "retry", "ob-412", "--yes", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try site.outbox.item(id: "ob-412")?.status == .pending)
        #expect(try Self.auditRows(site, "outbox.retry") == ["ob-502", "ob-412"])
    }

    /// A bulk retry commits a hundred items at a time: every item on both sides of a batch's
    /// edge is retried once with its one audit row (an id named twice too), and what cannot be
    /// retried is told by name.
    @Test func aBulkRetryAcrossBatchesRetriesEachItemOnceWithItsAuditRow() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        let dead = (0 ..< 250).map { String(format: "ob-%03d", $0) }
        for (n, id) in dead.enumerated() { try site.item(id, status: .dead, createdAt: now - 60_000 + Int64(n), error: "HTTP 503", httpStatus: 503) }
        try site.item("ob-done", status: .succeeded, createdAt: now - 70_000)
        _ = try sqlite3(site.outboxPath, "UPDATE outbox_item SET status = 'in_flight', lease_owner = 'worker-1', lease_until = \(now + 60_000) WHERE id = 'ob-100'")
        let result = try site.switchboard(["outbox", "retry"] + dead + ["ob-done", "ob-gone", "ob-007", "--yes"])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stdout == "retried 249, skipped 2 (being sent or sent by the agent), refused 1\n")
        #expect(result.stderr.contains("skipped ob-100: ob-100 is being sent (worker-1 holds it"))
        #expect(result.stderr.contains("skipped ob-done: ob-done already succeeded"))
        #expect(result.stderr.contains("refused ob-gone: ob-gone no longer exists"))
        let retried = dead.filter { $0 != "ob-100" }
        #expect(try Self.auditRows(site, "outbox.retry") == retried)
        for id in retried { #expect(try site.outbox.item(id: id)?.status == .pending) }
        #expect(try site.audit.verifyChain().isIntact)
    }

    /// The audit row goes in before the outbox changes (the two files commit apart): a retry
    /// whose outbox write cannot happen leaves its row and a second row saying it was not
    /// done, and the item unchanged. Never an item retried without its row.
    @Test func aRetryIsAuditedBeforeTheOutboxChangesAndSaysSoWhenItCouldNotBe() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.item("ob-1", status: .dead, createdAt: Clock.nowMillis() - 60_000, error: "HTTP 503", httpStatus: 503)
        let outbox = try OutboxStore(path: site.outboxPath, mode: .readWrite, busyTimeoutMillis: 200)
        let actions = OutboxActions(outbox: outbox, audit: site.audit, operator: OperatorIdentity(user: "oncall", role: .operator))
        // Another process takes the outbox's write lock after the stores are open (reads go on: WAL).
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute("BEGIN IMMEDIATE")
            print("locked", flush=True); time.sleep(3); c.execute("ROLLBACK")
            """, site.outboxPath]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // "locked"
        #expect(throws: StoreError.self) { try actions.retryNow(itemId: "ob-1", now: Clock.nowMillis()) }
        #expect(try site.outbox.item(id: "ob-1")?.status == .dead)
        let rows = try sqlite3(site.auditPath, """
            SELECT json_extract(detail, '$.item_id') || ' ' || outcome || ' ' || ifnull(json_extract(detail, '$.reason'), '-')
            FROM audit_event WHERE action = 'outbox.retry' ORDER BY seq
            """)
        #expect(rows == "ob-1 0 -\nob-1 4 not done: the outbox could not be written\n")
        #expect(try site.audit.verifyChain().isIntact)
    }

    @Test func listFiltersAndPrintsOneJSONObjectPerLine() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        let now = Clock.nowMillis()
        try site.item("ob-a", status: .failed, createdAt: now - 3_600_000, error: "HTTP 502 Bad Gateway", httpStatus: 502, bookingId: "bk-1")
        try site.item("ob-b", status: .failed, createdAt: now - 60_000, error: "connect refused")
        try site.item("ob-c", status: .dead, createdAt: now - 7_200_000, error: "HTTP 422 \u{1b}[31mred", httpStatus: 422)
        try site.item("ob-d", status: .pending, createdAt: now - 10_000, attempts: 0)

        func ids(_ filters: [String]) throws -> [String] {
            let listed = try site.switchboard(["outbox", "list", "--json"] + filters)
            #expect(listed.status == 0, "\(listed.stderr)")
            return try listed.stdout.split(separator: "\n").map { line in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return try #require(object["id"] as? String)
            }
        }
        #expect(try ids([]) == ["ob-c", "ob-a", "ob-b", "ob-d"])
        #expect(try ids(["--status", "failed"]) == ["ob-a", "ob-b"])
        #expect(try ids(["--status", "failed,dead", "--older-than", "30m"]) == ["ob-c", "ob-a"])
        #expect(try ids(["--error", "bad gateway"]) == ["ob-a"])
        #expect(try ids(["--booking", "bk-1"]) == ["ob-a"])
        #expect(try ids(["--call", "c-ob-b"]) == ["ob-b"])
        #expect(try ids(["--operation", "appointment.update"]).isEmpty)
        #expect(try ids(["--limit", "2"]) == ["ob-c", "ob-a"])

        let table = try site.switchboard(["outbox", "list"])
        #expect(table.status == 0)
        #expect(table.stdout.hasPrefix("ID "))
        #expect(!table.stdout.contains("\u{1b}"), "escape sequences from the data reached the terminal")
        #expect(table.stdout.contains("[HTTP 422]"))

        let bad = try site.switchboard(["outbox", "list", "--status", "stuck"])
        #expect(bad.status == 64 && bad.stderr.contains("Unknown --status stuck"))
    }

    @Test func requeueGivesAFreshBudgetAndKeepsTheAttemptCount() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.item("ob-out", status: .dead, createdAt: Clock.nowMillis(), error: "no answer", attempts: 10)
        _ = try sqlite3(site.outboxPath, "UPDATE outbox_item SET max_attempts = 10 WHERE id = 'ob-out'")
        let requeued = try site.switchboard(["outbox", "requeue", "--all-matching", "--status", "dead", "--attempts", "5", "--yes"])
        #expect(requeued.status == 0, "\(requeued.stderr)")
        #expect(requeued.stdout == "requeued 1\n")
        let item = try #require(try site.outbox.item(id: "ob-out"))
        #expect(item.status == .pending && item.attempts == 10 && item.maxAttempts == 15)
        #expect(try Self.auditRows(site, "outbox.requeue") == ["ob-out"])
        let again = try site.switchboard(["outbox", "requeue", "ob-out", "--yes"])
        #expect(again.status == 65 && again.stderr.contains("only failed or dead items are requeued"), "\(again.stderr)")
    }

    @Test func showTellsTheTriesAndTheWarning() throws {
        let site = try SmallSite()
        defer { site.scratch.cleanUp() }
        try site.item("ob-9", status: .dead, createdAt: Clock.nowMillis(), error: "HTTP 409: slot taken", httpStatus: 409, bookingId: "bk-9")
        let shown = try site.switchboard(["outbox", "show", "ob-9"])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("tries:\n  #1 "))
        #expect(shown.stdout.contains("warning: ob-9: the EHR's last answer was HTTP 409"))
        // The EHR client's words begin with the answer: said once (was "HTTP 409: HTTP 409: slot taken").
        #expect(shown.stdout.contains(" HTTP 409: slot taken\n") && !shown.stdout.contains("HTTP 409: HTTP 409"), "\(shown.stdout)")
        let listed = try site.switchboard(["outbox", "list", "--status", "dead"])
        #expect(listed.stdout.contains("[HTTP 409] slot taken") && !listed.stdout.contains("HTTP 409: slot"), "\(listed.stdout)")
        #expect(errorText("HTTP 4090 odd", after: "HTTP 409") == "HTTP 4090 odd" && errorText("HTTP 409", after: "HTTP 409") == "HTTP 409")
        let missing = try site.switchboard(["outbox", "show", "ob-none"])
        #expect(missing.status == 66)
    }
}
