import GRDB
import SwitchboardCore

/// The go-live figures of one window, against the integration guide's targets
/// (`GoLiveTargets`). The audit-row figures are kept incrementally: each `advance` reads
/// only the rows appended since the last one (by `seq`), so a console open through the
/// 48 hours never re-reads the history; latency percentiles come from a fixed histogram,
/// so memory does not grow with the rows. Calls, bookings and outbox attempts are
/// recounted (index ranges and small tables) on every `advance`.
public struct GoLiveTally: Sendable, Equatable {
    public let window: GoLiveWindow

    /// The last audit row counted; nil before the first `advance`.
    public private(set) var scannedThrough: Int64?
    /// EHR requests in the window (audit rows with a transport).
    public private(set) var ehrRequests = 0
    public private(set) var latencyCount = 0
    public private(set) var latencyTotalMillis: Int64 = 0
    /// Requests by latency in whole milliseconds below `histogramLimit`, then one bucket for the rest.
    private var latencyBuckets = [Int](repeating: 0, count: Self.histogramLimit + 1)
    static let histogramLimit = 5_000
    /// EHR requests on their first try, and those the EHR answered as asked (outcome 0 or
    /// 4: an expected miss such as "no such patient" is an answer, not a failure).
    public private(set) var firstAttempts = 0
    public private(set) var firstAttemptSuccesses = 0
    /// Audit rows of outbox sends (their detail names the outbox item).
    public private(set) var auditedSends = 0

    /// Outbox attempts started in the window (nil: no outbox database).
    public private(set) var outboxAttempts: Int?
    public private(set) var callsEnded = 0
    public private(set) var callsResolvedFirstTime = 0
    public private(set) var bookingsFlagged = 0
    public private(set) var bookingsDecided = 0
    public private(set) var bookingsCorrected = 0

    public init(window: GoLiveWindow) { self.window = window }

    // MARK: Figures

    public var averageLatencyMillis: Double? { latencyCount == 0 ? nil : Double(latencyTotalMillis) / Double(latencyCount) }

    /// The latency under which 95% of requests answered (to the millisecond, or
    /// "≥ 5000" as 5000).
    public var p95LatencyMillis: Int? {
        guard latencyCount > 0 else { return nil }
        let wanted = Int((Double(latencyCount) * 0.95).rounded(.up))
        var seen = 0
        for (millis, count) in latencyBuckets.enumerated() {
            seen += count
            if seen >= wanted { return millis }
        }
        return Self.histogramLimit
    }

    public var firstAttemptSuccessRate: Double? { ratio(firstAttemptSuccesses, firstAttempts) }
    /// Outbox sends with their audit row; above 1 only if the audit holds sends the
    /// outbox no longer does, so it is capped.
    public var auditCoverage: Double? { outboxAttempts.flatMap { ratio(min(auditedSends, $0), $0) } }
    public var firstCallResolution: Double? { ratio(callsResolvedFirstTime, callsEnded) }
    public var correctionRate: Double? { ratio(bookingsCorrected, bookingsDecided) }

    private func ratio(_ part: Int, _ whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }

    // MARK: Counting

    /// Counts what was appended since the last call (in chunks, each its own short read,
    /// so the agent's writer is never held up), then recounts the small figures.
    public mutating func advance(audit: AuditStore, outbox: OutboxStore?, chunk: Int = 50_000) throws {
        if scannedThrough == nil { scannedThrough = try audit.lastSeq(before: window.startsAt) }
        while let from = scannedThrough {
            let rows = try audit.goLiveRows(after: from, limit: chunk)
            for row in rows where window.contains(row.at) { count(row) }
            guard let last = rows.last else { break }
            scannedThrough = last.seq
            if rows.count < chunk { break }
        }
        let calls = try audit.endedCalls(in: window)
        callsEnded = calls.ended
        callsResolvedFirstTime = calls.resolved
        let bookings = try audit.reviewedBookings(in: window)
        bookingsFlagged = bookings.flagged
        bookingsDecided = bookings.decided
        bookingsCorrected = bookings.corrected
        outboxAttempts = try outbox?.attemptCount(in: window)
    }

    private mutating func count(_ row: AuditStore.GoLiveRow) {
        guard row.isEHRRequest else { return }
        ehrRequests += 1
        if let latency = row.latencyMillis {
            latencyCount += 1
            latencyTotalMillis += Int64(latency)
            latencyBuckets[min(max(0, latency), Self.histogramLimit)] += 1
        }
        if (row.attempt ?? 1) == 1 {
            firstAttempts += 1
            if row.outcome <= AuditOutcome.minorFailure.rawValue { firstAttemptSuccesses += 1 }
        }
        if row.isOutboxSend { auditedSends += 1 }
    }
}

extension AuditStore {
    struct GoLiveRow {
        var seq: Int64
        var at: UnixMillis
        var isEHRRequest: Bool
        var latencyMillis: Int?
        var attempt: Int?
        var outcome: Int
        var isOutboxSend: Bool
    }

    /// The last row before `moment`: `at` grows with `seq` (one writer appends in time
    /// order), so a binary search on the rowid finds it in about 25 reads.
    func lastSeq(before moment: UnixMillis) throws -> Int64 {
        try read { db in
            var low: Int64 = 0, high = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") ?? 0
            let at = try db.cachedStatement(sql: "SELECT at FROM audit_event WHERE seq >= ? ORDER BY seq LIMIT 1")
            while low < high {
                let middle = low + (high - low + 1) / 2
                let time = try Int64.fetchOne(at, arguments: [middle]) ?? .max
                if time < moment { low = middle } else { high = middle - 1 }
            }
            return low
        }
    }

    func goLiveRows(after seq: Int64, limit: Int) throws -> [GoLiveRow] {
        try read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT seq, at, transport IS NOT NULL, latency_ms, attempt, outcome, instr(detail, '"outbox_item"') > 0
                FROM audit_event WHERE seq > ? ORDER BY seq LIMIT ?
                """), arguments: [seq, limit]).map { row in
                GoLiveRow(seq: row[0], at: row[1], isEHRRequest: row[2], latencyMillis: row[3], attempt: row[4], outcome: row[5],
                          isOutboxSend: row[6] ?? false)
            }
        }
    }

    func endedCalls(in window: GoLiveWindow) throws -> (ended: Int, resolved: Int) {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), total(first_call_resolved) FROM call INDEXED BY call_by_start
                WHERE started_at >= ? AND started_at < ? AND ended_at IS NOT NULL
                """, arguments: [window.startsAt, window.endsAt])
            return (row?[0] ?? 0, Int(row?[1] as Double? ?? 0))
        }
    }

    func reviewedBookings(in window: GoLiveWindow) throws -> (flagged: Int, decided: Int, corrected: Int) {
        try read { db in
            let flagged = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided IN (0, 1) AND booked_at >= ? AND booked_at < ?
                """, arguments: [window.startsAt, window.endsAt]) ?? 0
            let decisions = try Row.fetchOne(db, sql: """
                SELECT count(*), total(d.decision = 'corrected') FROM review_decision d JOIN booking b ON b.booking_id = d.booking_id
                WHERE b.review_required = 1 AND b.booked_at >= ? AND b.booked_at < ?
                """, arguments: [window.startsAt, window.endsAt])
            return (flagged, decisions?[0] ?? 0, Int(decisions?[1] as Double? ?? 0))
        }
    }
}

extension OutboxStore {
    /// Attempts started in the window. outbox_attempt has no time index: this reads the
    /// table, which holds one row per try (far fewer than the audit's rows).
    func attemptCount(in window: GoLiveWindow) throws -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_attempt WHERE started_at >= ? AND started_at < ?",
                             arguments: [window.startsAt, window.endsAt]) ?? 0
        }
    }
}
