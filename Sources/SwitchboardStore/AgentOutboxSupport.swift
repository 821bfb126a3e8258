import Foundation
import GRDB
import SwitchboardCore

extension OutboxStore {
    /// A stopping agent hands back what it holds: its in-flight items become due now, each
    /// with an `abandoned` attempt row, so the next worker need not wait for the lease to expire.
    /// Returns how many were released.
    @discardableResult
    public func releaseLeases(owner: String, now: UnixMillis, reason: String) throws -> Int {
        try write { db in
            let held = try OutboxItem.fetchAll(db, sql: """
                SELECT * FROM outbox_item WHERE status = 'in_flight' AND lease_owner = ?
                """, arguments: [owner])
            for item in held {
                try db.execute(sql: """
                    UPDATE outbox_item SET status = 'pending', lease_owner = NULL, lease_until = NULL,
                        next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?
                    """, arguments: [now, reason, now, item.id])
                try OutboxAttempt(itemId: item.id, attempt: item.attempts, startedAt: item.updatedAt, endedAt: now,
                                  outcome: "abandoned", error: reason).insert(db, onConflict: .replace)
            }
            return held.count
        }
    }

    /// Items still to be sent: pending, failed (waiting to retry) or in flight.
    public func unsentCount() throws -> Int {
        try read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed', 'in_flight')") ?? 0
        }
    }
}
