import Foundation
import SwitchboardTesting
import Testing

/// The Go-live screen in tmux on generated files, where an outbox send with no audit row
/// is written while it is open: the gap is listed (call, step, time) and Enter opens that call.
@Suite(.enabled(if: Tmux.isAvailable, "needs tmux"), .timeLimit(.minutes(2)))
struct GoLiveConsoleTests {
    @Test func enterOnAnAuditGapOpensItsCall() async throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 400)
        let callId = try E2E.value(db.audit, "SELECT call_id FROM call WHERE ended_at IS NOT NULL ORDER BY started_at DESC LIMIT 1")
        let tmux = try E2E.console(scratch, db, width: 130, height: 60)
        defer { tmux.kill() }
        try await tmux.waitFor(Tmux.header, timeout: 20)
        try tmux.send("3")
        try await tmux.waitFor("Audit coverage", timeout: 30)
        let at = Int64(Date().timeIntervalSince1970 * 1000) - 10 * 60_000
        _ = try sqlite3(db.outbox, """
            INSERT INTO outbox_item (id, created_at, call_id, ehr_system, transport, operation, request, idempotency_key, status, attempts, max_attempts, updated_at)
            VALUES ('ob-unaudited', \(at), '\(callId)', 'ehr', 'fhir', 'appointment.create', '{}', 'k-unaudited', 'succeeded', 1, 8, \(at));
            INSERT INTO outbox_attempt (item_id, attempt, started_at, outcome) VALUES ('ob-unaudited', 1, \(at), 'success');
            """)
        try await tmux.waitUntil("the gap listed with its call and step", timeout: 40) { screen in
            screen.contains("Audit gaps: 1") && screen.contains("▸ \(callId) · appointment.create · ")
        }
        try tmux.send("Enter")
        let details = try await tmux.waitUntil("the gap's call opened", timeout: 15) { screen in
            screen.contains("Call \(callId)") && screen.contains("Steps (audit)")
        }
        let firstStep = try E2E.value(db.audit, "SELECT action FROM audit_event WHERE call_id = '\(callId)' ORDER BY seq LIMIT 1")
        #expect(!firstStep.isEmpty && details.contains(firstStep), "the call's steps from the audit: \(details)")
        try tmux.send("Escape")
        try await tmux.waitFor("Audit gaps: 1", timeout: 10)
    }
}
