import Foundation
import SwitchboardTesting
import Testing

/// `switchboard review correct` and `review again` against the running simulator, with
/// the console config it writes (`DIR/switchboard.toml`): the 412 path without a screen.
@Suite(.timeLimit(.minutes(3)))
struct HeadlessAgainTests {
    @Test func aRefusedCorrectionIsDecidedAgainFromWhatChanged() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let site = try E2E.loadedSite(scratch, rate: 240, concurrency: 10)
        defer { site.process.signal(SIGKILL) }
        let dir = site.dir, audit = site.audit, outbox = site.outbox, config = site.config
        func review(_ arguments: [String]) throws -> ProcessResult {
            try run(executable("switchboard"), ["review"] + arguments + ["--config", config], environment: E2E.environment(scratch), timeout: 30)
        }
        // An undecided new booking whose appointment the agent created (with a version).
        let undecided = """
            SELECT booking_id FROM booking WHERE kind = 'book' AND decided = 0 AND review_required = 1
            AND appointment_version IS NOT NULL AND appointment_ref LIKE 'Appointment/%' ORDER BY booked_at DESC LIMIT 1
            """
        let found = await E2E.eventually(timeout: 60) { ((try? E2E.value(audit, undecided)) ?? "").isEmpty == false }
        try #require(found, "the simulated agent made a booking")
        let id = try E2E.value(audit, undecided)
        #expect(try review(["again", id]).status == 1, "nothing was refused yet")

        try E2E.setFaults(dir: dir, #"{"versionConflictRate":1.0}"#)
        let corrected = try review(["correct", id, "--category", "wrong_type", "--type", "WALKIN"])
        try #require(corrected.status == 0, "correct: \(corrected.stderr)")
        let refused = await E2E.eventually(timeout: 30) {
            (try? E2E.value(outbox, "SELECT last_http_status FROM outbox_item WHERE booking_id = '\(id)' AND idempotency_key LIKE 'correction:%'")) == "412"
        }
        try #require(refused, "the EHR refused the correction (412)")

        // Without a choice: what changed, and nothing recorded.
        let look = try review(["again", id])
        #expect(look.status == 0, "\(look.stderr)")
        #expect(look.stdout.contains("changed in the EHR since the agent booked it") && look.stdout.contains("Version: "), "\(look.stdout)")
        #expect(look.stdout.contains("--keep-ehr"))
        #expect(try E2E.reviewAudit(audit, id) == ["operator:\(E2E.user)|review.correct"])
        #expect(try review(["again", id, "--keep-ehr", "--type", "ROUTINE"]).status == 64)
        let noEHR = try run(executable("switchboard"), ["review", "again", id, "--audit", audit, "--outbox", outbox],
                            environment: E2E.environment(scratch), timeout: 30)
        #expect(noEHR.status == 64 && noEHR.stderr.contains("--ehr"), "\(noEHR.stderr)")

        // Correct again, against the appointment as it is now: it goes out once.
        try E2E.setFaults(dir: dir, #"{"versionConflictRate":0}"#)
        let again = try review(["again", id, "--category", "wrong_type", "--type", "WALKIN"])
        #expect(again.status == 0 && again.stdout.contains("correction queued again against version"), "\(again.stdout) \(again.stderr)")
        let sent = await E2E.eventually(timeout: 30) {
            (try? E2E.rows(outbox, "SELECT status FROM outbox_item WHERE booking_id = '\(id)' AND idempotency_key LIKE 'correction:%' ORDER BY created_at")
                .map { $0[0] }) == ["discarded", "succeeded"]
        }
        #expect(sent, "the refused item is dropped and the new one sent")
        #expect(try E2E.reviewAudit(audit, id) == ["operator:\(E2E.user)|review.correct", "operator:\(E2E.user)|review.recorrect"])
        let ref = try E2E.value(audit, "SELECT appointment_ref FROM booking WHERE booking_id = '\(id)'")
        let appointment = "FROM appointment WHERE id = '\(ref.dropFirst("Appointment/".count))'"
        #expect(try E2E.value(dir + "/ehr-sandbox.sqlite", "SELECT json_extract(json, '$.appointmentType.coding[0].code') \(appointment)") == "WALKIN")
        #expect(try review(["again", id]).status == 1, "decided: nothing left to decide again")
    }
}
