import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The go-live figures against the same figures asked of the file with the sqlite3 tool.
@Suite struct GoLiveTallyTests {
    /// Damaged latencies (two of 9e18 overflow any sum, a fraction, text) saturate the
    /// figures instead of trapping the console's Go-live screen.
    @Test func absurdLatenciesSaturateTheSumsInsteadOfTrapping() throws {
        let db = try GeneratedDatabases(calls: 200)
        defer { db.scratch.cleanUp() }
        let window = GoLiveWindow(startsAt: 1_800_000_000_000 - 20 * 3_600_000)
        _ = try sqlite3(db.auditPath, """
            DROP TRIGGER audit_event_is_append_only_update;
            UPDATE audit_event SET latency_ms = 9e18 WHERE seq IN (SELECT seq FROM audit_event WHERE transport IS NOT NULL ORDER BY seq DESC LIMIT 2);
            UPDATE audit_event SET latency_ms = 1.5 WHERE seq = (SELECT seq FROM audit_event WHERE transport IS NOT NULL ORDER BY seq DESC LIMIT 1 OFFSET 2);
            UPDATE audit_event SET latency_ms = 'abc' WHERE seq = (SELECT seq FROM audit_event WHERE transport IS NOT NULL ORDER BY seq DESC LIMIT 1 OFFSET 3);
            """)
        var tally = GoLiveTally(window: window)
        try tally.advance(audit: db.audit, outbox: db.outbox)
        #expect(tally.ehrRequests > 10)
        #expect(tally.latencyTotalMillis == .max, "the sum saturates")
        #expect(tally.averageLatencyMillis != nil && tally.p95LatencyMillis != nil)
    }

    @Test func figuresMatchSQLAndCountingOnlyNewRowsGivesTheSameAnswer() throws {
        let db = try GeneratedDatabases(calls: 600)
        defer { db.scratch.cleanUp() }
        let window = GoLiveWindow(startsAt: 1_800_000_000_000 - 20 * 3_600_000)
        var tally = GoLiveTally(window: window)
        try tally.advance(audit: db.audit, outbox: db.outbox)

        let inWindow = "at >= \(window.startsAt) AND at < \(window.endsAt) AND transport IS NOT NULL"
        func number(_ sql: String, _ file: String? = nil) throws -> Double {
            Double(try sqlite3(file ?? db.auditPath, sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        #expect(tally.ehrRequests > 100, "the window holds EHR requests")
        #expect(try number("SELECT count(*) FROM audit_event WHERE at < \(window.startsAt)") > 100, "and the history before it is left out")
        #expect(tally.auditedSends > 0 && (tally.outboxAttempts ?? 0) > 0 && tally.callsEnded > 0)
        #expect(try Double(tally.ehrRequests) == number("SELECT count(*) FROM audit_event WHERE \(inWindow)"))
        let average = try number("SELECT avg(latency_ms) FROM audit_event WHERE \(inWindow) AND latency_ms IS NOT NULL")
        #expect(abs((tally.averageLatencyMillis ?? -1) - average) < 0.001)
        let latencies = Int(try number("SELECT count(*) FROM audit_event WHERE \(inWindow) AND latency_ms IS NOT NULL"))
        let p95 = try number("""
            SELECT latency_ms FROM audit_event WHERE \(inWindow) AND latency_ms IS NOT NULL
            ORDER BY latency_ms LIMIT 1 OFFSET \(Int((Double(latencies) * 0.95).rounded(.up)) - 1)
            """)
        #expect(try Double(tally.p95LatencyMillis ?? -1) == min(p95, 5_000))
        #expect(try Double(tally.firstAttempts) == number("SELECT count(*) FROM audit_event WHERE \(inWindow) AND coalesce(attempt, 1) = 1"))
        #expect(try Double(tally.firstAttemptSuccesses) == number("SELECT count(*) FROM audit_event WHERE \(inWindow) AND coalesce(attempt, 1) = 1 AND outcome <= 4"))
        #expect(tally.firstAttemptSuccesses < tally.firstAttempts, "the generated history has failures")
        #expect(try Double(tally.auditedSends) == number("SELECT count(*) FROM audit_event WHERE \(inWindow) AND detail LIKE '%\"outbox_item\"%'"))
        #expect(try Double(tally.outboxAttempts ?? -1) == number("""
            SELECT count(*) FROM outbox_attempt WHERE started_at >= \(window.startsAt) AND started_at < \(window.endsAt)
            """, db.outboxPath))
        let calls = "FROM call WHERE started_at >= \(window.startsAt) AND started_at < \(window.endsAt) AND ended_at IS NOT NULL"
        #expect(try Double(tally.callsEnded) == number("SELECT count(*) \(calls)"))
        #expect(try Double(tally.callsResolvedFirstTime) == number("SELECT count(*) \(calls) AND first_call_resolved = 1"))
        #expect(tally.bookingsDecided > 0 && tally.bookingsCorrected > 0 && tally.bookingsCorrected < tally.bookingsDecided)

        // In small chunks, and again after more rows arrive: the same as counting afresh.
        var chunked = GoLiveTally(window: window)
        try chunked.advance(audit: db.audit, outbox: db.outbox, chunk: 97)
        #expect(chunked == tally)
        let callId = "call-late"
        _ = try db.audit.append([
            AuditEvent(at: window.startsAt + 3_600_000, actor: "agent:test", callId: callId, action: "patient.search",
                       transport: .fhir, method: "GET", resourceType: "Patient", outcome: .seriousFailure, httpStatus: 503,
                       latencyMs: 9_000, attempt: 1),
        ])
        try chunked.advance(audit: db.audit, outbox: db.outbox, chunk: 97)
        #expect(chunked.ehrRequests == tally.ehrRequests + 1)
        #expect(chunked.firstAttempts == tally.firstAttempts + 1 && chunked.firstAttemptSuccesses == tally.firstAttemptSuccesses)
        var afresh = GoLiveTally(window: window)
        try afresh.advance(audit: db.audit, outbox: db.outbox)
        #expect(afresh == chunked)
    }

    @Test func anEmptyWindowHasNoFigures() throws {
        let db = try GeneratedDatabases(calls: 50)
        defer { db.scratch.cleanUp() }
        var tally = GoLiveTally(window: GoLiveWindow(startsAt: 1_900_000_000_000))
        try tally.advance(audit: db.audit, outbox: nil)
        #expect(tally.ehrRequests == 0 && tally.averageLatencyMillis == nil && tally.p95LatencyMillis == nil)
        #expect(tally.firstAttemptSuccessRate == nil && tally.auditCoverage == nil && tally.firstCallResolution == nil && tally.correctionRate == nil)
    }
}
