import Foundation
import GRDB
import SwitchboardCore

/// The counts behind the go-live figures of one window (docs/go-live.md), kept
/// incrementally: each `advance` aggregates only the audit rows appended since the last
/// one (a `seq` range, in two SQL scans), by 15-minute bucket and action, so a console open through
/// the 48 hours never re-reads the history; latency percentiles come from histograms, so
/// memory does not grow with the rows. Calls, bookings, decisions and outbox attempts are
/// kept incrementally too (`GoLiveRows`), when asked (`totals`); the exact last 15 minutes
/// and hour, the planned outages' share and the stuck items are recounted then: index
/// ranges over the last hour and small tables.
/// `figures(now:)` hands the pure model (`GoLiveFigures`) to the screen, `status` and `report`.
public struct GoLiveTally: Sendable, Equatable {
    public let window: GoLiveWindow

    /// The last audit row counted; nil before the first `advance`.
    public private(set) var scannedThrough: Int64?
    /// The audit rows' part of the window (latency with histograms, first attempts, sends).
    public private(set) var audited = GoLiveCounts()
    /// The same by 15-minute bucket from the window's start (no histograms).
    public private(set) var auditedBuckets: [Int: GoLiveCounts] = [:]
    public private(set) var plannedOutages: [PlannedOutage] = []
    /// Runs of `ehr.probe` rows (the agent probes only while the EHR does not answer).
    public private(set) var probeRuns: [(from: UnixMillis, to: UnixMillis)] = []
    /// Calls, bookings, decisions and outbox attempts, by bucket.
    public private(set) var rows: GoLiveRows
    /// The recounted part; nil before the first count with `totals`.
    public private(set) var totals: Totals?

    public struct Totals: Sendable, Equatable {
        public var countedAt: UnixMillis
        /// What the figures show beside the window's counts, in their own fields: the last 15
        /// minutes and hour, the planned outages' share, undecided bookings, stuck outbox
        /// items, coverage gaps and reviewers (the rest of it is filled by `figures(now:)`).
        public var standing: GoLiveFigures
        public var queueSpans: [EHRSpan] = []
        /// Counts of planned outages that ended before the last count: rows are appended in
        /// time order, so they no longer change and are not read again.
        var settledOutages: [String: GoLiveCounts] = [:]
        /// The gaps found for these (audited, sends) counts: looked for again only when they change.
        var gapsFor: [Int] = []
    }

    public init(window: GoLiveWindow) { self.window = window; rows = GoLiveRows(window: window) }

    public static func == (a: GoLiveTally, b: GoLiveTally) -> Bool {
        a.window == b.window && a.scannedThrough == b.scannedThrough && a.audited == b.audited && a.auditedBuckets == b.auditedBuckets
            && a.plannedOutages == b.plannedOutages && a.rows == b.rows && a.probeRuns.elementsEqual(b.probeRuns, by: { $0 == $1 }) && a.totals == b.totals
    }

    /// EHR requests of the agent counted in the window (every attempt with a latency).
    public var ehrRequests: Int { audited.latency.values.reduce(0) { $0 + $1.count } }

    // MARK: Counting

    /// Counts what was appended since the last call (in `seq` ranges of `chunk` rows, each
    /// its own short read, so the agent's writer is never held up), then, with `totals`,
    /// recounts the rest as of `now`.
    public mutating func advance(audit: AuditStore, outbox: OutboxStore?, now: UnixMillis = Clock.nowMillis(),
                                 chunk: Int64 = 250_000, totals: Bool = true) throws {
        var from = try scannedThrough ?? audit.lastSeq(before: window.startsAt)
        let last = try audit.lastSeq()
        while from < last {
            let through = min(last, from + chunk)
            // Two scans of the chunk, aggregated by SQLite: the counts by (15-minute bucket,
            // action) and the latency histogram. A row counts in the bucket of its own `at`.
            let counts = try audit.goLiveBuckets(after: from, through: through, from: window.startsAt, to: window.endsAt)
            audited.add(counts.window)
            for (b, trend) in counts.buckets { auditedBuckets[b, default: GoLiveCounts()].add(trend) }
            plannedOutages += try audit.plannedOutages(after: from, through: through)
            for at in try audit.probeTimes(after: from, through: through, from: window.startsAt, to: window.endsAt) {
                if let lastRun = probeRuns.last, at - lastRun.to < GoLiveTally.probeGapMillis {
                    probeRuns[probeRuns.count - 1].to = at
                } else {
                    probeRuns.append((at, at))
                }
            }
            from = through
        }
        scannedThrough = from
        if totals {
            try rows.advance(audit: audit, outbox: outbox, now: now)
            self.totals = try recount(audit: audit, outbox: outbox, now: now)
        }
    }

    /// Probes further apart than this start a new queue-mode span.
    static let probeGapMillis: Int64 = 60_000

    private func recount(audit: AuditStore, outbox: OutboxStore?, now: UnixMillis) throws -> Totals {
        let w = window
        var t = Totals(countedAt: now, standing: GoLiveFigures(window: w, now: now, all: GoLiveCounts()))
        let before = totals
        // The last 15 minutes and hour, exactly (not by bucket), clipped to the window.
        func stretch(_ from: UnixMillis, _ to: UnixMillis) throws -> GoLiveCounts {
            let from = max(from, w.startsAt), to = min(to, w.endsAt)
            guard from < to else { return GoLiveCounts() }
            var c = try audit.goLiveCounts(from: from, to: to)
            c.add(try audit.callAndBookingCounts(from: from, to: to, bucketsFrom: from).values.reduce(GoLiveCounts(), +))
            c.sends = rows.sends(from: from, to: to)
            return c
        }
        t.standing.lastQuarterHour = try stretch(now - GoLiveFigures.bucketMillis, now)
        t.standing.lastHour = try stretch(now - 3_600_000, now)
        // Planned outages leave out EHR requests and calls only (docs/go-live.md).
        for range in Self.merged(plannedOutages.map { ($0.from, $0.to) }) {
            let from = max(range.0, w.startsAt), to = min(range.1, w.endsAt)
            guard from < to else { continue }
            let key = "\(from)-\(to)"
            if let settled = before?.settledOutages[key] {
                t.settledOutages[key] = settled
                t.standing.inPlannedOutages.add(settled)
                continue
            }
            var c = try audit.goLiveCounts(from: from, to: to)
            let calls = try audit.callAndBookingCounts(from: from, to: to, bucketsFrom: from).values.reduce(GoLiveCounts(), +)
            c.callsEnded = calls.callsEnded
            c.callsResolved = calls.callsResolved
            c.auditedSends = 0
            t.standing.inPlannedOutages.add(c)
            // Calls end up to an hour after they start; after that the range's counts are final.
            if to + 3_600_000 < now { t.settledOutages[key] = c }
        }
        t.standing.undecided = rows.undecided
        t.standing.reviewers = rows.reviewers
        if let outbox {
            let stuck = try outbox.stuckItems(limit: 50)
            t.standing.outboxFailed = stuck.failed
            t.standing.outboxDead = stuck.dead
            t.standing.stuckItems = stuck.items
            let sends = rows.buckets.values.reduce(0) { $0 + ($1.sends ?? 0) }
            t.gapsFor = [audited.auditedSends, sends]
            if let before, before.gapsFor == t.gapsFor {
                t.standing.coverageGaps = before.standing.coverageGaps
            } else if audited.auditedSends < sends {
                t.standing.coverageGaps = try Self.coverageGaps(audit: audit, outbox: outbox, window: w, limit: 50)
            }
            // Sends since the last count, and the gaps listed, are looked up one by one: the
            // counts above cannot see a gap while other audit rows outnumber it (a send in
            // flight is audited before its attempt row is written), and an audit row written
            // just after its attempt closes a gap.
            let candidates = Self.merged(t.standing.coverageGaps, rows.newAttempts)
            if !rows.newAttempts.isEmpty || !t.standing.coverageGaps.isEmpty {
                t.standing.coverageGaps = try Self.unaudited(candidates, audit: audit, limit: 50)
            }
            t.queueSpans = try probeRuns.map { run in
                let backlog = try outbox.backlog(from: run.from, to: run.to)
                return EHRSpan(state: .queueMode, from: run.from, to: run.to == probeRuns.last?.to && now - run.to < Self.probeGapMillis ? nil : run.to,
                               backlogPeak: backlog.peak, drainMillis: backlog.drainedAt.map { $0 - run.to },
                               planned: plannedOutages.contains { $0.contains(run.from) })
            }
        } else {
            t.queueSpans = probeRuns.map { EHRSpan(state: .queueMode, from: $0.from, to: $0.to) }
        }
        return t
    }

    static func merged(_ ranges: [(UnixMillis, UnixMillis)]) -> [(UnixMillis, UnixMillis)] {
        var out: [(UnixMillis, UnixMillis)] = []
        for r in ranges.sorted(by: { $0.0 < $1.0 }) where r.0 < r.1 {
            if let last = out.last, r.0 <= last.1 { out[out.count - 1].1 = max(last.1, r.1) } else { out.append(r) }
        }
        return out
    }

    static func merged(_ a: [CoverageGap], _ b: [CoverageGap]) -> [CoverageGap] {
        var seen = Set<String>()
        return (a + b).filter { seen.insert("\($0.itemId)#\($0.attempt)").inserted }.sorted { $0.at < $1.at }
    }

    /// Of these sends, those with no audit row (through each call's audit rows).
    static func unaudited(_ sends: [CoverageGap], audit: AuditStore, limit: Int) throws -> [CoverageGap] {
        var audited = AuditedSends(audit: audit)
        return Array(try sends.filter { !(try audited.contains(itemId: $0.itemId, attempt: $0.attempt, call: $0.callId)) }.prefix(limit))
    }

    /// Outbox attempts in the window with no audit row of their send, found through each
    /// call's audit rows (the by-call index); only looked for when the counts differ.
    static func coverageGaps(audit: AuditStore, outbox: OutboxStore, window: GoLiveWindow, limit: Int) throws -> [CoverageGap] {
        var gaps: [CoverageGap] = []
        var audited = AuditedSends(audit: audit)
        for attempt in try outbox.attempts(from: window.startsAt, to: window.endsAt) {
            if !(try audited.contains(itemId: attempt.itemId, attempt: attempt.attempt, call: attempt.callId)) {
                gaps.append(CoverageGap(callId: attempt.callId, step: attempt.operation, at: attempt.startedAt, itemId: attempt.itemId, attempt: attempt.attempt))
                if gaps.count >= limit { break }
            }
        }
        return gaps
    }

    // MARK: The figures

    /// The pure model of the figures as of `now`.
    public func figures(now: UnixMillis) -> GoLiveFigures {
        let standing = totals?.standing ?? GoLiveFigures(window: window, now: now, all: GoLiveCounts())
        let counted = totals == nil ? [:] : rows.all
        var all = audited
        for counts in counted.values { all.add(counts) }
        var f = standing
        f.now = now
        f.all = all
        f.plannedOutages = plannedOutages
        let last = Int((min(max(now, window.startsAt), window.endsAt - 1) - window.startsAt) / GoLiveFigures.bucketMillis)
        f.buckets = (0...max(0, last)).map { (auditedBuckets[$0] ?? GoLiveCounts()) + (counted[$0] ?? GoLiveCounts()) }
        f.ehrSpans = EHRSpans.rebuild(window: window, now: now, buckets: f.buckets, queueSpans: totals?.queueSpans ?? [])
        return f
    }
}

extension AuditStore {
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

    /// The audit rows' counts of a time range (a planned outage, the last hour), found by
    /// `seq` through the same binary search.
    func goLiveCounts(from: UnixMillis, to: UnixMillis) throws -> GoLiveCounts {
        // `at` may run a little out of order between writers: a margin of rows either side.
        let margin: Int64 = 1_000
        let low = max(0, try lastSeq(before: from) - margin)
        let high = try lastSeq(before: to) + margin
        return try goLiveCounts(after: low, through: high, from: from, to: to)
    }

    /// An agent's EHR transaction's first attempt, and how it ended (docs/go-live.md).
    static let firstAttempt = "(substr(actor, 1, 6) = 'agent:' AND coalesce(attempt, 1) = 1 AND action <> 'ehr.probe')"
    static let succeeded = """
        (outcome = 0 AND coalesce(http_status, 200) BETWEEN 200 AND 299
         AND (transport <> 'hl7v2' OR NOT json_valid(detail) OR coalesce(json_extract(detail, '$.ack'), 'AA') IN ('AA', 'CA')))
        """
    static let slotTaken = "(outcome = 4 AND http_status = 409)"
    static let noMatch = "(outcome = 4 AND (http_status = 404 OR http_status BETWEEN 200 AND 299))"

    /// The actions the latency table names; any other is counted as `other`. A number per
    /// action lets one integer key group (action, millisecond), which SQLite sorts fast.
    static let knownActions = [
        "patient.search", "patient.read", "slot.search", "appointment.search", "appointment.read", "practitioner.search",
        "appointment.create", "appointment.update", "patient.create", "communication.create", "coverage.read", "ehr.probe",
    ]
    static let actionNumber = "CASE action " + knownActions.enumerated().map { "WHEN '\($0.element)' THEN \($0.offset + 1) " }.joined() + "ELSE 0 END"

    static let histogramKey = 8_192

    /// The two aggregates of the go-live counts over the audit rows matching `condition`:
    /// first attempts and sends in one row, then (action number × 8192 + millisecond,
    /// requests, total latency). The benchmark asks the sqlite3 tool the same.
    public static func goLiveSQL(where condition: String) -> (counts: String, latency: String) {
        ("""
        SELECT total(\(firstAttempt)), total(\(firstAttempt) AND \(succeeded)),
               total(\(firstAttempt) AND \(slotTaken)), total(\(firstAttempt) AND \(noMatch)),
               total(instr(detail, '"outbox_item"') > 0)
        FROM audit_event WHERE transport IS NOT NULL AND \(condition)
        """, latencySQL(where: condition))
    }

    static func latencySQL(where condition: String) -> String {
        """
        SELECT (\(actionNumber)) * \(histogramKey) + min(max(latency_ms, 0), \(LatencyCounts.limit)), count(*), total(latency_ms)
        FROM audit_event WHERE transport IS NOT NULL AND \(condition) AND latency_ms IS NOT NULL AND substr(actor, 1, 6) = 'agent:' GROUP BY 1
        """
    }

    /// The counts by (bucket × 16 + action number) × 64 + the row's flags (bits: first
    /// attempt, succeeded, slot taken, no match, a send, a request with latency), the rows
    /// of each and their latency total, in one scan. The flags sit in the group's key so
    /// SQLite's sorter carries an integer and the latency, not the rows' text.
    static func bucketSQL(where condition: String, origin: UnixMillis) -> String {
        func bit(_ condition: String, _ value: Int) -> String { "(CASE WHEN \(condition) THEN \(value) ELSE 0 END)" }
        return """
        SELECT ((at - \(origin)) / \(GoLiveFigures.bucketMillis) * 16 + (\(actionNumber))) * 64
               + \(bit(firstAttempt, 1)) + \(bit("\(firstAttempt) AND \(succeeded)", 2)) + \(bit("\(firstAttempt) AND \(slotTaken)", 4))
               + \(bit("\(firstAttempt) AND \(noMatch)", 8)) + \(bit(#"instr(detail, '"outbox_item"') > 0"#, 16))
               + \(bit("latency_ms IS NOT NULL AND substr(actor, 1, 6) = 'agent:'", 32)),
               count(*), total(latency_ms)
        FROM audit_event WHERE transport IS NOT NULL AND \(condition) GROUP BY 1
        """
    }

    /// The counts of the audit rows in a `seq` range whose `at` is in `[start, end)`: the
    /// whole range (latency with histograms) and by 15-minute bucket from `start` (latency
    /// without). Two scans, aggregated by SQLite: decoding each row into Swift cost five
    /// times as much, and cutting the range at each bucket's boundary cost a query pair
    /// and a binary search per bucket.
    func goLiveBuckets(after low: Int64, through high: Int64, from start: UnixMillis, to end: UnixMillis)
        throws -> (window: GoLiveCounts, buckets: [Int: GoLiveCounts]) {
        guard low < high else { return (GoLiveCounts(), [:]) }
        return try read { db in
            let condition = "seq > ? AND seq <= ? AND at >= ? AND at < ?"
            let arguments: StatementArguments = [low, high, start, end]
            var window = GoLiveCounts(), buckets: [Int: GoLiveCounts] = [:]
            let rows = try Row.fetchCursor(db.cachedStatement(sql: Self.bucketSQL(where: condition, origin: start)), arguments: arguments)
            while let row = try rows.next() {
                let key: Int = row[0], n: Int = row[1], flags = key % 64, group = key / 64
                func flag(_ bit: Int) -> Int { flags & bit != 0 ? n : 0 }
                var c = GoLiveCounts()
                c.transactions = flag(1)
                c.succeeded = flag(2)
                c.slotTaken = flag(4)
                c.noMatch = flag(8)
                c.auditedSends = flag(16)
                if flags & 32 != 0 {
                    let number = group % 16
                    c.latency[number == 0 ? "other" : Self.knownActions[number - 1]] =
                        LatencyCounts(count: n, totalMillis: Int64(clamping: row[2] as Double))
                }
                buckets[group / 16, default: GoLiveCounts()].add(c)
                c.latency = [:]
                window.add(c)
            }
            window.latency = try Self.latency(db, where: condition, arguments)
            return (window, buckets)
        }
    }

    /// The counts of the audit rows in a `seq` range whose `at` is in `[start, end)`, with
    /// latency histograms, not by bucket.
    func goLiveCounts(after low: Int64, through high: Int64, from start: UnixMillis, to end: UnixMillis) throws -> GoLiveCounts {
        guard low < high else { return GoLiveCounts() }
        return try read { db in
            let sql = Self.goLiveSQL(where: "seq > ? AND seq <= ? AND at >= ? AND at < ?")
            let arguments: StatementArguments = [low, high, start, end]
            var c = GoLiveCounts()
            if let row = try Row.fetchOne(db.cachedStatement(sql: sql.counts), arguments: arguments) {
                c.transactions = Int(row[0] as Double)
                c.succeeded = Int(row[1] as Double)
                c.slotTaken = Int(row[2] as Double)
                c.noMatch = Int(row[3] as Double)
                c.auditedSends = Int(row[4] as Double)
            }
            c.latency = try Self.latency(db, where: "seq > ? AND seq <= ? AND at >= ? AND at < ?", arguments)
            return c
        }
    }

    /// Latency by action with histograms to the millisecond.
    static func latency(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [String: LatencyCounts] {
        var out: [String: LatencyCounts] = [:]
        let key = histogramKey
        let histogram = try Row.fetchCursor(db.cachedStatement(sql: latencySQL(where: condition)), arguments: arguments)
        while let row = try histogram.next() {
            let value: Int = row[0]
            let number = value / key, millis = value % key
            let action = number == 0 ? "other" : knownActions[number - 1]
            let n: Int = row[1]
            var l = out[action] ?? LatencyCounts()
            l.count += n
            // Saturating: damaged rows may hold absurd latencies, and a figure is never worth a trap.
            l.totalMillis = l.totalMillis.addingClamped(Int64(clamping: row[2] as Double))
            l.histogram[millis, default: 0] += n
            out[action] = l
        }
        return out
    }

    /// `outage.plan` rows in a `seq` range (through the action index).
    func plannedOutages(after from: Int64, through: Int64) throws -> [PlannedOutage] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT at, actor, detail FROM audit_event INDEXED BY audit_event_by_action
                WHERE action = 'outage.plan' AND seq > ? AND seq <= ? ORDER BY seq
                """, arguments: [from, through]).compactMap { row in
                guard let text: String = row[2], let data = text.data(using: .utf8),
                      let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                      let start = (object["from"] as? NSNumber)?.int64Value, let end = (object["to"] as? NSNumber)?.int64Value else { return nil }
                let actor: String = row[1]
                return PlannedOutage(from: start, to: end, reason: object["reason"] as? String ?? "",
                                     plannedBy: actor.hasPrefix("operator:") ? String(actor.dropFirst(9)) : actor, plannedAt: row[0])
            }
        }
    }

    func probeTimes(after from: Int64, through: Int64, from start: UnixMillis, to end: UnixMillis) throws -> [UnixMillis] {
        try read { db in
            try UnixMillis.fetchAll(db, sql: """
                SELECT at FROM audit_event INDEXED BY audit_event_by_action
                WHERE action = 'ehr.probe' AND seq > ? AND seq <= ? AND at >= ? AND at < ? ORDER BY seq
                """, arguments: [from, through, start, end])
        }
    }

    /// Ended calls and flagged bookings by bucket (calls by `started_at`, bookings by `booked_at`).
    func callAndBookingCounts(from start: UnixMillis, to end: UnixMillis, bucketsFrom origin: UnixMillis) throws -> [Int: GoLiveCounts] {
        try read { db in
            var buckets: [Int: GoLiveCounts] = [:]
            let bucket = GoLiveFigures.bucketMillis
            for row in try Row.fetchAll(db, sql: """
                SELECT (started_at - ?) / \(bucket), count(*),
                       total(outcome = 'resolved' OR (intent = 'urgent_triage' AND outcome = 'transferred'))
                FROM call INDEXED BY call_by_start WHERE started_at >= ? AND started_at < ? AND ended_at IS NOT NULL GROUP BY 1
                """, arguments: [origin, start, end]) {
                buckets[row[0], default: GoLiveCounts()].callsEnded = row[1]
                buckets[row[0], default: GoLiveCounts()].callsResolved = Int(row[2] as Double)
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT (booked_at - ?) / \(bucket), count(*), total(decided) FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided IN (0, 1) AND booked_at >= ? AND booked_at < ? GROUP BY 1
                """, arguments: [origin, start, end]) {
                buckets[row[0], default: GoLiveCounts()].bookingsFlagged = row[1]
                buckets[row[0], default: GoLiveCounts()].bookingsDecided = Int(row[2] as Double)
            }
            // The range's decided bookings, then their decisions (CROSS JOIN keeps that order).
            for row in try Row.fetchAll(db, sql: """
                SELECT (b.booked_at - ?) / \(bucket), coalesce(d.category, 'other'), count(*)
                FROM booking b INDEXED BY booking_review_queue CROSS JOIN review_decision d ON d.booking_id = b.booking_id
                WHERE b.decided = 1 AND b.review_required = 1 AND b.booked_at >= ? AND b.booked_at < ? AND d.decision = 'corrected' GROUP BY 1, 2
                """, arguments: [origin, start, end]) {
                let n: Int = row[2]
                buckets[row[0], default: GoLiveCounts()].bookingsCorrected += n
                buckets[row[0], default: GoLiveCounts()].corrections[row[1]] = n
            }
            return buckets
        }
    }

    /// "item#attempt" of every send audited in a call.
    func auditedSends(call: String) throws -> Set<String> {
        try read { db in
            Set(try Row.fetchAll(db, sql: """
                SELECT json_extract(detail, '$.outbox_item'), attempt FROM audit_event
                WHERE call_id = ? AND instr(detail, '"outbox_item"') > 0 AND json_valid(detail)
                """, arguments: [call]).compactMap { row -> String? in
                guard let item: String = row[0] else { return nil }
                return "\(item)#\(row[1] as Int? ?? 1)"
            })
        }
    }
}

extension OutboxStore {
    struct AttemptRow { var itemId: String; var attempt: Int; var startedAt: UnixMillis; var callId: String?; var operation: String }

    func attempts(from start: UnixMillis, to end: UnixMillis) throws -> [AttemptRow] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT a.item_id, a.attempt, a.started_at, i.call_id, i.operation FROM outbox_attempt a
                JOIN outbox_item i ON i.id = a.item_id WHERE a.started_at >= ? AND a.started_at < ? ORDER BY a.started_at
                """, arguments: [start, end]).map { AttemptRow(itemId: $0[0], attempt: $0[1], startedAt: $0[2], callId: $0[3], operation: $0[4]) }
        }
    }

    func stuckItems(limit: Int) throws -> (failed: Int, dead: Int, items: [StuckItem]) {
        try read { db in
            let failed = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE status = 'failed'") ?? 0
            let dead = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE status = 'dead'") ?? 0
            let items = try Row.fetchAll(db, sql: """
                SELECT id, status, operation, attempts, last_error, updated_at FROM outbox_item
                WHERE status IN ('failed', 'dead') ORDER BY updated_at LIMIT ?
                """, arguments: [limit]).map {
                StuckItem(id: $0[0], status: $0[1], operation: $0[2], attempts: $0[3], lastError: $0[4], updatedAt: $0[5])
            }
            return (failed, dead, items)
        }
    }

    /// Queue mode from `from` to `to`: the items waiting when the EHR came back (those
    /// created by then and not yet sent: the peak, as nothing is sent in queue mode), and
    /// when the last of them was sent (nil while any still waits).
    func backlog(from: UnixMillis, to: UnixMillis) throws -> (peak: Int, drainedAt: UnixMillis?) {
        try read { db in
            let waiting = "created_at <= ? AND NOT (status = 'succeeded' AND updated_at < ?) AND status <> 'discarded' AND created_at >= ? - 3600000"
            let peak = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE \(waiting)", arguments: [to, from, from]) ?? 0
            let open = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE \(waiting) AND status <> 'succeeded'",
                                        arguments: [to, from, from]) ?? 0
            let last = try UnixMillis.fetchOne(db, sql: "SELECT max(updated_at) FROM outbox_item WHERE \(waiting) AND status = 'succeeded'",
                                               arguments: [to, from, from])
            return (peak, open > 0 ? nil : last.map { max($0, to) })
        }
    }
}

/// Whether an outbox send has its audit row, through its call's audit rows (the by-call
/// index), each call read once. A send with no call has none to be found by.
struct AuditedSends {
    let audit: AuditStore
    private var byCall: [String: Set<String>] = [:]

    init(audit: AuditStore) { self.audit = audit }

    mutating func contains(itemId: String, attempt: Int, call: String?) throws -> Bool {
        guard let call else { return false }
        let sends = try byCall[call] ?? audit.auditedSends(call: call)
        byCall[call] = sends
        return sends.contains("\(itemId)#\(attempt)")
    }
}
