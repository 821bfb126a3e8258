import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The go-live counts against the same figures asked of the file with the sqlite3 tool.
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
        try tally.advance(audit: db.audit, outbox: db.outbox, now: 1_800_000_000_000)
        #expect(tally.ehrRequests > 10)
        let figures = tally.figures(now: 1_800_000_000_000)
        let latency = try #require(figures.figures(.all).first { $0.id == .schedulingLatency })
        #expect(latency.value != nil, "the sums saturate and the figure is still computed")
    }

    @Test func figuresMatchSQLAndCountingOnlyNewRowsGivesTheSameAnswer() throws {
        let db = try GeneratedDatabases(calls: 600)
        defer { db.scratch.cleanUp() }
        let window = GoLiveWindow(startsAt: 1_800_000_000_000 - 20 * 3_600_000)
        let now: UnixMillis = 1_800_000_000_000
        var tally = GoLiveTally(window: window)
        try tally.advance(audit: db.audit, outbox: db.outbox, now: now)
        let f = tally.figures(now: now)

        let inWindow = "at >= \(window.startsAt) AND at < \(window.endsAt) AND transport IS NOT NULL AND actor LIKE 'agent:%'"
        func number(_ sql: String, _ file: String? = nil) throws -> Double {
            Double(try sqlite3(file ?? db.auditPath, sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        #expect(tally.ehrRequests > 100, "the window holds EHR requests")
        #expect(try number("SELECT count(*) FROM audit_event WHERE at < \(window.startsAt)") > 100, "and the history before it is left out")
        #expect(try Double(tally.ehrRequests) == number("SELECT count(*) FROM audit_event WHERE \(inWindow) AND latency_ms IS NOT NULL"))
        let scheduling = "action IN ('patient.search', 'patient.read', 'slot.search', 'appointment.search', 'appointment.read', 'practitioner.search')"
        let average = try number("SELECT avg(latency_ms) FROM audit_event WHERE \(inWindow) AND \(scheduling)")
        #expect(abs((f.all.latency(of: .schedulingQuery).average ?? -1) - average) < 0.001)
        let count = Int(try number("SELECT count(*) FROM audit_event WHERE \(inWindow) AND \(scheduling)"))
        let p95 = try number("""
            SELECT latency_ms FROM audit_event WHERE \(inWindow) AND \(scheduling)
            ORDER BY latency_ms LIMIT 1 OFFSET \(Int((Double(count) * 0.95).rounded(.up)) - 1)
            """)
        #expect(try Double(f.all.latency(of: .schedulingQuery).percentile(0.95) ?? -1) == min(p95, 5_000))
        let first = "\(inWindow) AND coalesce(attempt, 1) = 1 AND action <> 'ehr.probe'"
        #expect(try Double(f.all.transactions) == number("SELECT count(*) FROM audit_event WHERE \(first)"))
        #expect(try Double(f.all.succeeded) == number("""
            SELECT count(*) FROM audit_event WHERE \(first) AND outcome = 0 AND coalesce(http_status, 200) BETWEEN 200 AND 299
            AND coalesce(json_extract(detail, '$.ack'), 'AA') = 'AA'
            """))
        #expect(f.all.succeeded < f.all.transactions, "the generated history has failures")
        #expect(try Double(f.all.slotTaken) == number("SELECT count(*) FROM audit_event WHERE \(first) AND outcome = 4 AND http_status = 409"))
        #expect(try Double(f.all.sends ?? -1) == number("""
            SELECT count(*) FROM outbox_attempt WHERE started_at >= \(window.startsAt) AND started_at < \(window.endsAt)
            """, db.outboxPath))
        let calls = "FROM call WHERE started_at >= \(window.startsAt) AND started_at < \(window.endsAt) AND ended_at IS NOT NULL"
        #expect(try Double(f.all.callsEnded) == number("SELECT count(*) \(calls)"))
        #expect(try Double(f.all.callsResolved) == number("SELECT count(*) \(calls) AND (outcome = 'resolved' OR (intent = 'urgent_triage' AND outcome = 'transferred'))"))
        #expect(f.all.callsResolved > Int(try number("SELECT count(*) \(calls) AND first_call_resolved = 1")), "triage transfers now count")
        #expect(f.all.bookingsDecided > 0 && f.all.bookingsCorrected > 0 && f.all.bookingsCorrected < f.all.bookingsDecided)
        #expect(f.all.corrections.values.reduce(0, +) == f.all.bookingsCorrected)

        // In small chunks, and again after more rows arrive: the same as counting afresh.
        var chunked = GoLiveTally(window: window)
        try chunked.advance(audit: db.audit, outbox: db.outbox, now: now, chunk: 97)
        #expect(chunked == tally)
        _ = try db.audit.append([
            AuditEvent(at: window.startsAt + 3_600_000, actor: "agent:test", callId: "call-late", action: "patient.search",
                       transport: .fhir, method: "GET", resourceType: "Patient", outcome: .seriousFailure, httpStatus: 503,
                       latencyMs: 9_000, attempt: 1),
        ])
        try chunked.advance(audit: db.audit, outbox: db.outbox, now: now, chunk: 97)
        let later = chunked.figures(now: now).all
        #expect(chunked.ehrRequests == tally.ehrRequests + 1)
        #expect(later.transactions == f.all.transactions + 1 && later.succeeded == f.all.succeeded)
        var afresh = GoLiveTally(window: window)
        try afresh.advance(audit: db.audit, outbox: db.outbox, now: now)
        // The window's counts agree; the late row (written an hour out of time order) may sit
        // in another trend bucket, counted where its place in the chain is.
        #expect(afresh.audited == chunked.audited && afresh.totals == chunked.totals)
        #expect(afresh.figures(now: now).figures(.all) == chunked.figures(now: now).figures(.all))
    }

    @Test func anEmptyWindowHasNoFigures() throws {
        let db = try GeneratedDatabases(calls: 50)
        defer { db.scratch.cleanUp() }
        var tally = GoLiveTally(window: GoLiveWindow(startsAt: 1_900_000_000_000))
        try tally.advance(audit: db.audit, outbox: nil, now: 1_900_000_000_000)
        #expect(tally.ehrRequests == 0)
        for figure in tally.figures(now: 1_900_000_000_000).figures(.all) { #expect(figure.status == .noData, "\(figure.label)") }
    }
}
