import GRDB
import SwitchboardCore

/// The go-live figures of one window, against the integration guide's targets
/// (`GoLiveTargets`). The audit-row figures are kept incrementally: each `advance`
/// aggregates only the rows appended since the last one (a `seq` range, in SQL), so a
/// console open through the 48 hours never re-reads the history; latency percentiles
/// come from a fixed histogram, so memory does not grow with the rows. Calls, bookings
/// and outbox attempts are recounted when asked (`totals`): index ranges and smaller
/// tables, but tens of milliseconds at a million rows, so not on every change.
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

    /// Counts what was appended since the last call (in `seq` ranges of `chunk` rows,
    /// each its own short read, so the agent's writer is never held up), then, with
    /// `totals`, recounts the calls, bookings and outbox attempts.
    public mutating func advance(audit: AuditStore, outbox: OutboxStore?, chunk: Int64 = 250_000, totals: Bool = true) throws {
        var from = try scannedThrough ?? audit.lastSeq(before: window.startsAt)
        let last = try audit.lastSeq()
        while from < last {
            let through = min(last, from + chunk)
            add(try audit.goLiveCounts(after: from, through: through, in: window))
            from = through
        }
        scannedThrough = from
        guard totals else { return }
        let calls = try audit.endedCalls(in: window)
        callsEnded = calls.ended
        callsResolvedFirstTime = calls.resolved
        let bookings = try audit.reviewedBookings(in: window)
        bookingsFlagged = bookings.flagged
        bookingsDecided = bookings.decided
        bookingsCorrected = bookings.corrected
        outboxAttempts = try outbox?.attemptCount(in: window)
    }

    private mutating func add(_ counts: AuditStore.GoLiveCounts) {
        // Sums saturate: damaged rows may hold absurd numbers, and a figure is never worth a trap.
        ehrRequests = ehrRequests.addingClamped(counts.requests)
        latencyCount = latencyCount.addingClamped(counts.latencyCount)
        latencyTotalMillis = latencyTotalMillis.addingClamped(counts.latencyTotal)
        for (millis, count) in counts.latencies {
            let bucket = min(max(0, millis), Self.histogramLimit)
            latencyBuckets[bucket] = latencyBuckets[bucket].addingClamped(count)
        }
        firstAttempts = firstAttempts.addingClamped(counts.firstAttempts)
        firstAttemptSuccesses = firstAttemptSuccesses.addingClamped(counts.firstAttemptSuccesses)
        auditedSends = auditedSends.addingClamped(counts.outboxSends)
    }
}

extension AuditStore {
    /// The go-live aggregates of the EHR requests in a `seq` range inside a window.
    struct GoLiveCounts {
        var requests = 0
        var latencyCount = 0
        var latencyTotal: Int64 = 0
        /// (milliseconds, requests), the slowest folded into `GoLiveTally.histogramLimit`.
        var latencies: [(Int, Int)] = []
        var firstAttempts = 0
        var firstAttemptSuccesses = 0
        var outboxSends = 0
    }

    func lastSeq() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") ?? 0 }
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

    /// Two scans of one rowid range, aggregated by SQLite: decoding each row into Swift
    /// cost five times as much.
    func goLiveCounts(after from: Int64, through: Int64, in window: GoLiveWindow) throws -> GoLiveCounts {
        try read { db in
            let range = "seq > ? AND seq <= ? AND transport IS NOT NULL AND at >= ? AND at < ?"
            let arguments: StatementArguments = [from, through, window.startsAt, window.endsAt]
            var counts = GoLiveCounts()
            if let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT count(*), count(latency_ms), total(latency_ms), total(coalesce(attempt, 1) = 1),
                       total(coalesce(attempt, 1) = 1 AND outcome <= 4), total(instr(detail, '"outbox_item"') > 0)
                FROM audit_event WHERE \(range)
                """), arguments: arguments) {
                // total() is a double: it never overflows, and a damaged latency (9e18)
                // is clamped here rather than trapping.
                counts.requests = row[0]
                counts.latencyCount = row[1]
                counts.latencyTotal = Int64(clamping: row[2] as Double)
                counts.firstAttempts = Int(clamping: row[3] as Double)
                counts.firstAttemptSuccesses = Int(clamping: row[4] as Double)
                counts.outboxSends = Int(clamping: row[5] as Double)
            }
            counts.latencies = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT max(0, min(CAST(latency_ms AS INTEGER), \(GoLiveTally.histogramLimit))), count(*) FROM audit_event
                WHERE \(range) AND latency_ms IS NOT NULL GROUP BY 1
                """), arguments: arguments).map { ($0[0], $0[1]) }
            return counts
        }
    }

    func endedCalls(in window: GoLiveWindow) throws -> (ended: Int, resolved: Int) {
        try read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT count(*), total(first_call_resolved) FROM call INDEXED BY call_by_start
                WHERE started_at >= ? AND started_at < ? AND ended_at IS NOT NULL
                """, arguments: [window.startsAt, window.endsAt])
            return (row?[0] ?? 0, Int(clamping: row?[1] as Double? ?? 0))
        }
    }

    func reviewedBookings(in window: GoLiveWindow) throws -> (flagged: Int, decided: Int, corrected: Int) {
        try read { db in
            // Flagged and decided from the review queue's index alone; corrections are few,
            // so they are found from the decisions (CROSS JOIN keeps that order).
            let queue = """
                SELECT count(*) FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided IN (%@) AND booked_at >= ? AND booked_at < ?
                """
            let range: StatementArguments = [window.startsAt, window.endsAt]
            let flagged = try Int.fetchOne(db, sql: queue.replacingOccurrences(of: "%@", with: "0, 1"), arguments: range) ?? 0
            let decided = try Int.fetchOne(db, sql: queue.replacingOccurrences(of: "%@", with: "1"), arguments: range) ?? 0
            let corrected = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM review_decision d CROSS JOIN booking b ON b.booking_id = d.booking_id
                WHERE d.decision = 'corrected' AND b.review_required = 1 AND b.booked_at >= ? AND b.booked_at < ?
                """, arguments: range) ?? 0
            return (flagged, decided, corrected)
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
