import Foundation
import GRDB
import SwitchboardCore

/// What the alert rules, `check`, `metrics` and the hand-off read from the audit database.
/// Each read goes through an index (`audit_event_by_action`, `booking_review_queue`), so
/// it costs the same on ten million rows as on a thousand.
extension AuditStore {
    /// The newest `ehr.state` row an agent wrote, if its agent writes them (the simulator
    /// publishes the state on the stream only): state, when, and the row's `seq`.
    public func lastEHRStateRow() throws -> (state: String, at: UnixMillis)? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT at, detail FROM audit_event INDEXED BY audit_event_by_action
                WHERE action = 'ehr.state' ORDER BY seq DESC LIMIT 1
                """) else { return nil }
            let detail: String = row["detail"] ?? "{}"
            let object = (try? JSONSerialization.jsonObject(with: Data(detail.utf8))) as? [String: Any]
            guard let state = object?["state"] as? String else { return nil }
            return (state, row["at"])
        }
    }

    /// The agent's probes of an EHR that stopped answering (`ehr.probe`, every 2 s while it
    /// does not answer): the newest, and the first of the run of failed probes it ends.
    public func probeSignals() throws -> ProbeSignals? {
        try read { db in
            guard let last = try Row.fetchOne(db, sql: """
                SELECT seq, at, outcome FROM audit_event INDEXED BY audit_event_by_action
                WHERE action = 'ehr.probe' ORDER BY seq DESC LIMIT 1
                """) else { return nil }
            let lastOK = try Int64.fetchOne(db, sql: """
                SELECT max(seq) FROM audit_event INDEXED BY audit_event_by_action WHERE action = 'ehr.probe' AND outcome < 8
                """) ?? 0
            let firstFailedAt = try Int64.fetchOne(db, sql: """
                SELECT at FROM audit_event INDEXED BY audit_event_by_action
                WHERE action = 'ehr.probe' AND seq > ? ORDER BY seq LIMIT 1
                """, arguments: [lastOK])
            let outcome: Int = last["outcome"]
            return ProbeSignals(lastAt: last["at"], lastFailed: outcome >= 8, failingSince: firstFailedAt)
        }
    }

    /// Undecided flagged bookings: how many, the oldest's booking time, and how many were
    /// booked at or before `overdueBefore`.
    public func undecidedFigures(overdueBefore: UnixMillis) throws -> (count: Int, oldestBookedAt: UnixMillis?, overdue: Int) {
        try read { db in
            let count = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM booking INDEXED BY booking_review_queue WHERE review_required = 1 AND decided = 0
                """) ?? 0
            let oldest = try Int64.fetchOne(db, sql: """
                SELECT booked_at FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided = 0 ORDER BY decided, booked_at LIMIT 1
                """)
            let overdue = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided = 0 AND booked_at <= ?
                """, arguments: [overdueBefore]) ?? 0
            return (count, oldest, overdue)
        }
    }

    /// Flagged bookings in the window, decided ones, and corrected ones (the go-live
    /// correction rate's parts).
    public func reviewCounts(in window: GoLiveWindow) throws -> (flagged: Int, decided: Int, corrected: Int) {
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

    /// Audit rows with one of `actions` at or after `since`, oldest first (by the action
    /// index: each action is its own range).
    public func rows(actions: [String], since: UnixMillis, limit: Int = 100_000) throws -> [AuditEvent] {
        let from = try lastSeq(before: since)
        return try read { db in
            var rows: [AuditEvent] = []
            for action in actions {
                rows += try AuditEvent.fetchAll(db, sql: """
                    SELECT * FROM audit_event INDEXED BY audit_event_by_action WHERE action = ? AND seq > ? ORDER BY seq LIMIT ?
                    """, arguments: [action, from, limit])
            }
            return rows.sorted { ($0.seq ?? 0) < ($1.seq ?? 0) }
        }
    }

    /// Undecided flagged bookings, oldest first: id and booking time.
    public func oldestUndecided(limit: Int) throws -> [(bookingId: String, bookedAt: UnixMillis)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT booking_id, booked_at FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided = 0 ORDER BY decided, booked_at LIMIT ?
                """, arguments: [limit]).map { ($0[0], $0[1]) }
        }
    }
}

/// The agent's `ehr.probe` rows, newest first.
public struct ProbeSignals: Sendable, Equatable {
    public var lastAt: UnixMillis
    public var lastFailed: Bool
    /// The first probe after the last one that got an answer.
    public var failingSince: UnixMillis?
    public init(lastAt: UnixMillis, lastFailed: Bool, failingSince: UnixMillis?) {
        self.lastAt = lastAt; self.lastFailed = lastFailed; self.failingSince = failingSince
    }
}
