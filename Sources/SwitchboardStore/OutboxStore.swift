import Foundation
import GRDB
import SwitchboardCore

/// `outbox.sqlite`: EHR transactions waiting, in flight, retrying, done or dead.
/// A worker holds an item through a lease (compare-and-set on status and lease), so two
/// processes never send the same item at once, and a killed worker's lease expires.
public final class OutboxStore: ContractStore, Sendable {
    public static let role = DatabaseRole.outbox
    public let path: String
    public let database: any DatabaseWriter
    public let writer: StoreWriter
    /// How long a statement waits for another process's lock; reported when it gives up.
    public let busyTimeoutMillis: Int
    /// Rows skipped by listings because a column could not be read (see `UnreadableRow`).
    public let unreadable = UnreadableRows()

    /// `writer`: nil to write through `database` too.
    public init(database: any DatabaseWriter, writer: StoreWriter? = nil, path: String = ":memory:",
                busyTimeoutMillis: Int = DatabaseFile.defaultBusyTimeoutMillis) {
        self.database = database
        self.writer = writer ?? StoreWriter(database)
        self.path = path
        self.busyTimeoutMillis = busyTimeoutMillis
    }

    /// Adds items; an item whose idempotency key is already queued is not added twice.
    /// Returns how many were new.
    @discardableResult
    public func enqueue(_ items: [OutboxItem]) throws -> Int {
        try write { db in
            var added = 0
            for var item in items {
                if item.nextAttemptAt == nil { item.nextAttemptAt = item.createdAt }
                try item.insert(db, onConflict: .ignore)
                added += db.changesCount
            }
            return added
        }
    }

    /// Claims the item that is due first (or one whose lease expired) for `owner`.
    public func claimNext(owner: String, leaseMillis: Int64, now: UnixMillis) throws -> OutboxItem? {
        try write { db in
            let due = try String.fetchOne(db, sql: """
                SELECT id FROM outbox_item INDEXED BY outbox_item_due
                WHERE status IN ('pending', 'failed') AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 1
                """, arguments: [now])
            let abandoned = due == nil ? try String.fetchOne(db, sql: """
                SELECT id FROM outbox_item INDEXED BY outbox_item_leased
                WHERE status = 'in_flight' AND lease_until < ? ORDER BY lease_until LIMIT 1
                """, arguments: [now]) : nil
            guard let id = due ?? abandoned else { return nil }
            return try Self.claim(db, id: id, owner: owner, leaseMillis: leaseMillis, now: now, ignoreSchedule: false)
        }
    }

    /// Claims one named item now, ahead of its schedule (an operator's "retry now").
    /// Returns nil if another process holds it or it is final.
    public func claim(id: String, owner: String, leaseMillis: Int64, now: UnixMillis) throws -> OutboxItem? {
        try write { db in try Self.claim(db, id: id, owner: owner, leaseMillis: leaseMillis, now: now, ignoreSchedule: true) }
    }

    /// The compare-and-set itself: the UPDATE only matches while the item is still
    /// claimable, so whoever commits second changes nothing and learns it lost.
    private static func claim(_ db: Database, id: String, owner: String, leaseMillis: Int64, now: UnixMillis,
                              ignoreSchedule: Bool) throws -> OutboxItem? {
        try OutboxItem.fetchOne(db, sql: """
            UPDATE outbox_item
            SET status = 'in_flight', lease_owner = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
            WHERE id = ? AND (
                (status IN ('pending', 'failed') AND (? OR next_attempt_at <= ?))
                OR (status = 'in_flight' AND lease_until < ?)
                OR (? AND status = 'dead'))
            RETURNING *
            """, arguments: [owner, now + leaseMillis, now, id, ignoreSchedule, now, now, ignoreSchedule])
    }

    /// Extends a lease the owner still holds. False if the lease was lost.
    public func renewLease(id: String, owner: String, leaseMillis: Int64, now: UnixMillis) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE outbox_item SET lease_until = ?, updated_at = ?
                WHERE id = ? AND status = 'in_flight' AND lease_owner = ? AND lease_until >= ?
                """, arguments: [now + leaseMillis, now, id, owner, now])
            return db.changesCount == 1
        }
    }

    /// How one try ended.
    public enum AttemptResult: Sendable, Equatable {
        case succeeded(httpStatus: Int?, ackCode: String?)
        /// Try again at `retryAt`, or give up (`dead`) when attempts are used up.
        case failed(error: String, httpStatus: Int?, ackCode: String?, retryAt: UnixMillis?)
    }

    /// Records the end of the owner's try and releases the lease. False (and nothing
    /// written) if the lease had been lost to another worker.
    @discardableResult
    public func complete(id: String, owner: String, startedAt: UnixMillis, result: AttemptResult, now: UnixMillis) throws -> Bool {
        try write { db in
            guard let item = try OutboxItem.fetchOne(db, sql: """
                SELECT * FROM outbox_item WHERE id = ? AND status = 'in_flight' AND lease_owner = ?
                """, arguments: [id, owner]) else { return false }
            let attempt: OutboxAttempt
            switch result {
            case .succeeded(let status, let ack):
                try db.execute(sql: """
                    UPDATE outbox_item SET status = 'succeeded', lease_owner = NULL, lease_until = NULL,
                        next_attempt_at = NULL, last_error = NULL, last_http_status = ?, updated_at = ? WHERE id = ?
                    """, arguments: [status, now, id])
                attempt = OutboxAttempt(itemId: id, attempt: item.attempts, startedAt: startedAt, endedAt: now,
                                        outcome: "success", httpStatus: status, ackCode: ack)
            case .failed(let error, let status, let ack, let retryAt):
                let dead = retryAt == nil || item.attempts >= item.maxAttempts
                try db.execute(sql: """
                    UPDATE outbox_item SET status = ?, lease_owner = NULL, lease_until = NULL, next_attempt_at = ?,
                        last_error = ?, last_http_status = ?, updated_at = ? WHERE id = ?
                    """, arguments: [dead ? "dead" : "failed", dead ? nil : retryAt, error, status, now, id])
                attempt = OutboxAttempt(itemId: id, attempt: item.attempts, startedAt: startedAt, endedAt: now,
                                        outcome: dead ? "permanent" : "retryable", httpStatus: status, ackCode: ack, error: error)
            }
            try attempt.insert(db, onConflict: .replace)
            return true
        }
    }

    /// An operator's "retry now": a failed or dead item becomes due immediately (with
    /// one more attempt allowed if it had used them all). False if it was not waiting.
    public func retryNow(id: String, now: UnixMillis) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE outbox_item SET status = 'pending', next_attempt_at = ?, updated_at = ?,
                    max_attempts = max(max_attempts, attempts + 1)
                WHERE id = ? AND status IN ('pending', 'failed', 'dead')
                """, arguments: [now, now, id])
            return db.changesCount == 1
        }
    }

    /// An operator's "discard": the item will never be sent. False if it is in flight or final.
    public func discard(id: String, reason: String, now: UnixMillis) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE outbox_item SET status = 'discarded', last_error = ?, next_attempt_at = NULL, updated_at = ?
                WHERE id = ? AND status IN ('pending', 'failed', 'dead')
                """, arguments: ["discarded: " + reason, now, id])
            return db.changesCount == 1
        }
    }

    // MARK: Reads

    public func item(id: String) throws -> OutboxItem? {
        try read { db in try OutboxItem.fetchOne(db, key: id) }
    }

    public func attempts(ofItem id: String) throws -> [OutboxAttempt] {
        try read { db in
            try unreadable.records(OutboxAttempt.self, db, sql: "SELECT * FROM outbox_attempt WHERE item_id = ? ORDER BY attempt", arguments: [id])
        }
    }

    public func items(forBooking bookingId: String) throws -> [OutboxItem] {
        try read { db in
            try unreadable.records(OutboxItem.self, db, sql: "SELECT * FROM outbox_item WHERE booking_id = ? ORDER BY created_at, id", arguments: [bookingId])
        }
    }

    /// The items of each booking in `bookingIds` (those with none are absent), in one read:
    /// a screen of bookings costs one statement (an index probe per booking inside SQLite),
    /// not a transaction or a statement per row.
    public func items(forBookings bookingIds: [String]) throws -> [String: [OutboxItem]] {
        let ids = Array(Set(bookingIds))
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var found: [String: [OutboxItem]] = [:]
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                let items = try unreadable.records(OutboxItem.self, db, sql: "SELECT * FROM outbox_item WHERE booking_id IN (\(marks)) ORDER BY created_at, id",
                                                   arguments: StatementArguments(chunk))
                for item in items { if let booking = item.bookingId { found[booking, default: []].append(item) } }
            }
            return found
        }
    }

    /// Items with one of `statuses`, oldest first, keyset-paged on (status, created_at, id).
    public func items(withStatus status: OutboxStatus, after cursor: OutboxCursor? = nil, limit: Int) throws -> [OutboxItem] {
        try read { db in
            if let cursor {
                return try unreadable.records(OutboxItem.self, db, sql: """
                    SELECT * FROM outbox_item INDEXED BY outbox_item_by_status
                    WHERE status = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?
                    """, arguments: [status.rawValue, cursor.createdAt, cursor.id, limit])
            }
            return try unreadable.records(OutboxItem.self, db, sql: """
                SELECT * FROM outbox_item INDEXED BY outbox_item_by_status WHERE status = ? ORDER BY created_at, id LIMIT ?
                """, arguments: [status.rawValue, limit])
        }
    }

    /// How many items are in each status (every status present, zero included).
    public func countsByStatus() throws -> [OutboxStatus: Int] {
        try read { db in
            var counts = Dictionary(uniqueKeysWithValues: OutboxStatus.allCases.map { ($0, 0) })
            for row in try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM outbox_item GROUP BY status") {
                // A damaged status (a BLOB, a number) is no status: counted nowhere, never a trap.
                let status: DatabaseValue = row["status"]
                if case .string(let text) = status.storage, let s = OutboxStatus(rawValue: text) { counts[s] = row["n"] }
            }
            return counts
        }
    }
}

/// Position in an outbox list.
public struct OutboxCursor: Sendable, Equatable {
    public var createdAt: UnixMillis
    public var id: String
    public init(createdAt: UnixMillis, id: String) { self.createdAt = createdAt; self.id = id }
    public init(_ item: OutboxItem) { self.init(createdAt: item.createdAt, id: item.id) }
}
