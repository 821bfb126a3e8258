import Foundation
import GRDB
import SwitchboardCore

/// Ended calls, flagged bookings, review decisions and outbox attempts of a go-live
/// window by 15-minute bucket, kept incrementally (docs/go-live.md): each `advance` reads
/// only what changed since the last one, by the rows' own marks, so a count every 10 s
/// at millions of rows costs the new rows, not the history.
///
/// The contract (docs/data-contract.md) says which rows still change, and those are the
/// only ones kept by id: a call is rewritten once when it ends (calls seen in progress are
/// looked at again); a booking is inserted once (only `decided` changes, which the
/// decisions carry); a decision is taken back only by "decide again" (a delete, seen as a
/// count that no longer adds up, and then the decisions alone are counted afresh); an
/// outbox item gets attempts until it is `succeeded` or `discarded` (items not final are
/// looked at again, by id; `dead` can be revived by an operator, so it stays looked at).
public struct GoLiveRows: Sendable, Equatable {
    public let window: GoLiveWindow
    /// Calls ended and resolved, bookings flagged and outbox attempts, by bucket.
    public private(set) var buckets: [Int: GoLiveCounts] = [:]
    /// Decided and corrected bookings (with categories) by the booking's bucket.
    public private(set) var decisions: [Int: GoLiveCounts] = [:]
    /// Decisions on the window's flagged bookings by reviewer.
    public private(set) var reviewers: [String: Int] = [:]
    /// Start times of the window's attempts of the last hour (for the exact last 15 minutes and hour).
    public private(set) var recentSends: [UnixMillis] = []
    /// Whether an outbox was counted (sends are nil without one).
    public private(set) var hasOutbox = false
    /// The window's attempts seen by the last `advance` after the first (their audit rows
    /// are looked for by the tally: a gap found as it happens, whatever the counts say).
    public private(set) var newAttempts: [CoverageGap] = []

    /// The marks: nil before the first count.
    private var callMark: Int64?
    private var openCalls: Set<Int64> = []
    private var bookingMark: Int64 = 0
    private var decisionMark: Int64 = 0
    private var decisionsCounted = 0
    /// booking_id and decided_at of the decision at the mark: a decision deleted and written
    /// again may take its rowid back.
    private var decisionAtMark: String?
    private var itemMark: Int64?
    /// Items not final: how many of their attempts are counted, and their state when last
    /// looked at (status, attempts, updated_at), so only items that changed are read again.
    private var openItems: [String: OpenItem] = [:]
    struct OpenItem: Sendable, Equatable {
        var counted: Int
        var seen: String
    }

    public init(window: GoLiveWindow) { self.window = window }

    static let bucketMillis = GoLiveFigures.bucketMillis

    /// The counts of every bucket, decisions included.
    public var all: [Int: GoLiveCounts] {
        var out = buckets
        for (bucket, counts) in decisions { out[bucket, default: GoLiveCounts()].add(counts) }
        if !hasOutbox { out = out.mapValues { var counts = $0; counts.sends = nil; return counts } }
        return out
    }

    /// Flagged bookings of the window not yet decided.
    public var undecided: Int {
        buckets.values.reduce(0) { $0 + $1.bookingsFlagged } - decisions.values.reduce(0) { $0 + $1.bookingsDecided }
    }

    /// Attempts started in `[from, to)` (within the last hour before the last count).
    public func sends(from: UnixMillis, to: UnixMillis) -> Int? {
        hasOutbox ? recentSends.filter { $0 >= from && $0 < to }.count : nil
    }

    // MARK: Counting

    public mutating func advance(audit: AuditStore, outbox: OutboxStore?, now: UnixMillis) throws {
        try audit.read { db in
            try countCalls(db)
            try countBookings(db)
            try countDecisions(db)
        }
        newAttempts = []
        if let outbox {
            hasOutbox = true
            try outbox.read { db in try countAttempts(db, now: now) }
        }
        recentSends.removeAll { $0 < now - 3_600_000 }
    }

    private func bucket(_ at: UnixMillis) -> Int { Int((at - window.startsAt) / Self.bucketMillis) }

    private mutating func countCalls(_ db: Database) throws {
        let w = window, b = Self.bucketMillis
        let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM call") ?? 0
        let resolved = "total(outcome = 'resolved' OR (intent = 'urgent_triage' AND outcome = 'transferred'))"
        // Calls seen in progress: counted once they have ended.
        if !openCalls.isEmpty {
            let ids = "[" + openCalls.map(String.init).joined(separator: ",") + "]"
            for row in try Row.fetchAll(db, sql: """
                SELECT rowid, (started_at - ?) / \(b), outcome = 'resolved' OR (intent = 'urgent_triage' AND outcome = 'transferred')
                FROM call WHERE rowid IN (SELECT value FROM json_each(?)) AND ended_at IS NOT NULL
                """, arguments: [w.startsAt, ids]) {
                openCalls.remove(row[0])
                buckets[row[1], default: GoLiveCounts()].callsEnded += 1
                buckets[row[1], default: GoLiveCounts()].callsResolved += (row[2] as Bool? ?? false) ? 1 : 0
            }
        }
        let from = callMark ?? 0
        guard last > from else { callMark = max(from, last); return }
        // The first count reads the window's calls by start (in bucket order: no sort); later
        // ones the new rows.
        let range = callMark == nil ? "started_at >= ? AND started_at < ? AND rowid <= \(last)"
            : "rowid > \(from) AND rowid <= \(last) AND started_at >= ? AND started_at < ?"
        let table = callMark == nil ? "call INDEXED BY call_by_start" : "call"
        for row in try Row.fetchAll(db, sql: """
            SELECT (started_at - ?) / \(b), count(*), \(resolved) FROM \(table) WHERE \(range) AND ended_at IS NOT NULL GROUP BY 1
            """, arguments: [w.startsAt, w.startsAt, w.endsAt]) {
            buckets[row[0], default: GoLiveCounts()].callsEnded += row[1]
            buckets[row[0], default: GoLiveCounts()].callsResolved += Int(row[2] as Double)
        }
        let open = callMark == nil
            ? "SELECT rowid FROM call INDEXED BY call_in_progress WHERE ended_at IS NULL AND started_at >= ? AND started_at < ? AND rowid <= \(last)"
            : "SELECT rowid FROM call WHERE rowid > \(from) AND rowid <= \(last) AND ended_at IS NULL AND started_at >= ? AND started_at < ?"
        openCalls.formUnion(try Int64.fetchAll(db, sql: open, arguments: [w.startsAt, w.endsAt]))
        callMark = last
    }

    private mutating func countBookings(_ db: Database) throws {
        let w = window, b = Self.bucketMillis
        let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM booking") ?? 0
        guard last > bookingMark else { return }
        let range = bookingMark == 0
            ? "booking INDEXED BY booking_review_queue WHERE decided IN (0, 1) AND booked_at >= ? AND booked_at < ? AND rowid <= \(last)"
            : "booking WHERE rowid > \(bookingMark) AND rowid <= \(last) AND booked_at >= ? AND booked_at < ?"
        for row in try Row.fetchAll(db, sql: """
            SELECT (booked_at - ?) / \(b), count(*) FROM \(range) AND review_required = 1 GROUP BY 1
            """, arguments: [w.startsAt, w.startsAt, w.endsAt]) {
            buckets[row[0], default: GoLiveCounts()].bookingsFlagged += row[1]
        }
        bookingMark = last
    }

    private mutating func countDecisions(_ db: Database) throws {
        let last = try Row.fetchOne(db, sql: """
            SELECT rowid, booking_id || '@' || decided_at FROM review_decision ORDER BY rowid DESC LIMIT 1
            """)
        let lastRowid: Int64 = last?[0] ?? 0
        let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM review_decision") ?? 0
        let new = try Int.fetchOne(db, sql: "SELECT count(*) FROM review_decision WHERE rowid > ?", arguments: [decisionMark]) ?? 0
        let atMark = try String.fetchOne(db, sql: "SELECT booking_id || '@' || decided_at FROM review_decision WHERE rowid = ?",
                                         arguments: [decisionMark])
        // A decision taken back (and maybe taken again): the decisions are counted afresh.
        if total != decisionsCounted + new || atMark != decisionAtMark {
            decisions = [:]
            reviewers = [:]
            decisionMark = 0
            decisionsCounted = 0
        }
        guard lastRowid > decisionMark else { decisionAtMark = last?[1]; return }
        let w = window
        for row in try Row.fetchAll(db, sql: """
            SELECT (b.booked_at - ?) / \(Self.bucketMillis), d.decision, coalesce(d.category, 'other'), d.operator, count(*)
            FROM review_decision d JOIN booking b ON b.booking_id = d.booking_id
            WHERE d.rowid > ? AND d.rowid <= ? AND b.review_required = 1 AND b.booked_at >= ? AND b.booked_at < ? GROUP BY 1, 2, 3, 4
            """, arguments: [w.startsAt, decisionMark, lastRowid, w.startsAt, w.endsAt]) {
            let n: Int = row[4]
            var c = GoLiveCounts()
            c.bookingsDecided = n
            if row[1] as String == "corrected" {
                c.bookingsCorrected = n
                c.corrections[row[2]] = n
            }
            decisions[row[0], default: GoLiveCounts()].add(c)
            reviewers[row[3], default: 0] += n
        }
        decisionsCounted = total
        decisionMark = lastRowid
        decisionAtMark = last?[1]
    }

    private mutating func countAttempts(_ db: Database, now: UnixMillis) throws {
        let w = window, b = Self.bucketMillis
        let recentFrom = now - 3_600_000
        func count(_ startedAt: UnixMillis, _ n: Int = 1, item: String, attempt: Int, callId: String?, operation: String) {
            guard startedAt >= w.startsAt && startedAt < w.endsAt else { return }
            newAttempts.append(CoverageGap(callId: callId, step: operation, at: startedAt, itemId: item, attempt: attempt))
            buckets[bucket(startedAt), default: GoLiveCounts()].sends = (buckets[bucket(startedAt)]?.sends ?? 0) + n
            if startedAt >= recentFrom { recentSends += repeatElement(startedAt, count: n) }
        }
        let last = try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM outbox_item") ?? 0
        let notFinal = "status IN ('pending', 'in_flight', 'failed', 'dead')"
        let seen = "status || '/' || attempts || '/' || updated_at"
        guard let mark = itemMark else {
            // The first count: one scan of the attempts (no time index), the last hour's one by one.
            for row in try Row.fetchAll(db, sql: """
                SELECT (started_at - ?) / \(b), CASE WHEN started_at >= ? THEN started_at END, count(*) FROM outbox_attempt
                WHERE started_at >= ? AND started_at < ? GROUP BY 1, 2
                """, arguments: [w.startsAt, recentFrom, w.startsAt, w.endsAt]) {
                let n: Int = row[2]
                buckets[row[0], default: GoLiveCounts()].sends = (buckets[row[0]]?.sends ?? 0) + n
                if let at: UnixMillis = row[1] { recentSends += repeatElement(at, count: n) }
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT id, \(seen), (SELECT coalesce(max(attempt), 0) FROM outbox_attempt WHERE item_id = id) FROM outbox_item
                INDEXED BY outbox_item_by_status WHERE \(notFinal)
                """) { openItems[row[0]] = OpenItem(counted: row[2], seen: row[1]) }
            itemMark = last
            return
        }
        // Items seen before that were not final and have changed since: their new attempts,
        // and whether they are final now (one index range for all, then only those read).
        var current: [String: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT id, \(seen) FROM outbox_item INDEXED BY outbox_item_by_status WHERE \(notFinal)") {
            current[row[0]] = row[1]
        }
        let attemptsAfter = try db.cachedStatement(sql: "SELECT attempt, started_at FROM outbox_attempt WHERE item_id = ? AND attempt > ?")
        let status = try db.cachedStatement(sql: "SELECT status, call_id, operation FROM outbox_item WHERE id = ?")
        for (id, open) in openItems where current[id] != open.seen {
            var highest = open.counted
            let item = try Row.fetchOne(status, arguments: [id])
            for row in try Row.fetchAll(attemptsAfter, arguments: [id, open.counted]) {
                highest = max(highest, row[0])
                count(row[1], item: id, attempt: row[0], callId: item?[1], operation: item?[2] ?? "")
            }
            openItems[id] = current[id].map { OpenItem(counted: highest, seen: $0) }
        }
        if last > mark {
            var highest: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT i.id, i.status, a.attempt, a.started_at, i.call_id, i.operation FROM outbox_item i
                LEFT JOIN outbox_attempt a ON a.item_id = i.id WHERE i.rowid > ? AND i.rowid <= ?
                """, arguments: [mark, last]) {
                let id: String = row[0]
                if let at: UnixMillis = row[3] { count(at, item: id, attempt: row[2], callId: row[4], operation: row[5]) }
                let status: String = row[1]
                if status != "succeeded" && status != "discarded" { highest[id] = max(highest[id] ?? 0, row[2] as Int? ?? 0) }
            }
            for (id, counted) in highest { openItems[id] = OpenItem(counted: counted, seen: current[id] ?? "") }
        }
        itemMark = last
    }
}
