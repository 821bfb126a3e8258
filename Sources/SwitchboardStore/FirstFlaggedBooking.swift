import GRDB
import SwitchboardCore

extension AuditStore {
    /// When the earliest booking flagged for review was made: the go-live window's start
    /// when nothing else says. Two index lookups (undecided, decided) rather than a scan.
    public func firstFlaggedBookingAt() throws -> UnixMillis? {
        try read { db in
            try StrictRow.time(db, sql: """
                SELECT min(t) FROM (
                    SELECT min(booked_at) AS t FROM booking INDEXED BY booking_review_queue
                    WHERE review_required = 1 AND decided = 0 AND booked_at \(StrictRow.timeInRange)
                    UNION ALL
                    SELECT min(booked_at) AS t FROM booking INDEXED BY booking_review_queue
                    WHERE review_required = 1 AND decided = 1 AND booked_at \(StrictRow.timeInRange))
                """)
        }
    }
}
