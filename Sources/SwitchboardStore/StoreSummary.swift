import GRDB
import SwitchboardCore

/// What is in the databases right now, as `switchboard status` reports it. Every figure
/// comes from an index (a partial index, or `max(seq)` on the append-only chain), so it
/// costs milliseconds on ten million rows.
public struct StoreSummary: Codable, Sendable, Equatable {
    public struct AuditPart: Codable, Sendable, Equatable {
        public var path: String
        public var schemaVersion: Int
        public var auditRows: Int64
        public var callsInProgress: Int
        public var calls: Int
        public var bookingsAwaitingReview: Int
        public var bookingsDecided: Int
        public var oldestUndecidedBookedAt: UnixMillis?
        public var oldestUndecidedAgeMillis: Int64?

        enum CodingKeys: String, CodingKey {
            case path, calls
            case schemaVersion = "schema_version", auditRows = "audit_rows", callsInProgress = "calls_in_progress"
            case bookingsAwaitingReview = "bookings_awaiting_review", bookingsDecided = "bookings_decided"
            case oldestUndecidedBookedAt = "oldest_undecided_booked_at", oldestUndecidedAgeMillis = "oldest_undecided_age_ms"
        }
    }

    public struct OutboxPart: Codable, Sendable, Equatable {
        public var path: String
        public var schemaVersion: Int
        public var itemsByStatus: [String: Int]
        public var oldestWaitingCreatedAt: UnixMillis?

        enum CodingKeys: String, CodingKey {
            case path
            case schemaVersion = "schema_version", itemsByStatus = "items_by_status"
            case oldestWaitingCreatedAt = "oldest_waiting_created_at"
        }
    }

    public var at: UnixMillis
    public var audit: AuditPart?
    public var outbox: OutboxPart?

    public init(at: UnixMillis, audit: AuditPart? = nil, outbox: OutboxPart? = nil) {
        self.at = at; self.audit = audit; self.outbox = outbox
    }
}

extension AuditStore {
    public func summary(now: UnixMillis) throws -> StoreSummary.AuditPart {
        try read { db in
            let oldest = try StrictRow.time(db, sql: """
                SELECT booked_at FROM booking INDEXED BY booking_review_queue
                WHERE review_required = 1 AND decided = 0 AND booked_at \(StrictRow.timeInRange) ORDER BY decided, booked_at LIMIT 1
                """)
            return StoreSummary.AuditPart(
                path: path,
                schemaVersion: try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                auditRows: try Int64.fetchOne(db, sql: "SELECT max(seq) FROM audit_event") ?? 0,
                callsInProgress: try Int.fetchOne(db, sql: "SELECT count(*) FROM call INDEXED BY call_in_progress WHERE ended_at IS NULL") ?? 0,
                calls: try Int.fetchOne(db, sql: "SELECT count(*) FROM call") ?? 0,
                bookingsAwaitingReview: try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM booking INDEXED BY booking_review_queue WHERE review_required = 1 AND decided = 0
                    """) ?? 0,
                bookingsDecided: try Int.fetchOne(db, sql: "SELECT count(*) FROM review_decision") ?? 0,
                oldestUndecidedBookedAt: oldest,
                oldestUndecidedAgeMillis: oldest.map { millisBetween($0, now) })
        }
    }
}

extension OutboxStore {
    public func summary() throws -> StoreSummary.OutboxPart {
        let counts = try countsByStatus()
        return try read { db in
            StoreSummary.OutboxPart(
                path: path,
                schemaVersion: try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                itemsByStatus: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
                oldestWaitingCreatedAt: try StrictRow.time(db, sql: """
                    SELECT min(created_at) FROM outbox_item
                    WHERE status IN ('pending', 'failed', 'in_flight') AND created_at \(StrictRow.timeInRange)
                    """))
        }
    }
}
