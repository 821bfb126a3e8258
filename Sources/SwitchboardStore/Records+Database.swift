import GRDB
import SwitchboardCore

// Database conformances for the contract's rows. Core keeps the shapes pure; the
// coding keys there are the column names, so Codable maps them one to one.

extension AuditEvent: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audit_event"
    public enum Columns {
        public static let seq = Column("seq"), at = Column("at"), actor = Column("actor")
        public static let callId = Column("call_id"), action = Column("action"), outcome = Column("outcome")
        public static let transport = Column("transport")
    }
}

extension Call: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "call"
    public enum Columns {
        public static let callId = Column("call_id"), startedAt = Column("started_at"), endedAt = Column("ended_at")
    }
}

extension Booking: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "booking"
    public enum Columns {
        public static let bookingId = Column("booking_id"), bookedAt = Column("booked_at")
        public static let reviewRequired = Column("review_required"), decided = Column("decided")
        public static let callId = Column("call_id")
    }
}

extension ReviewDecision: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "review_decision"
}

extension OutboxItem: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outbox_item"
    public enum Columns {
        public static let id = Column("id"), status = Column("status"), createdAt = Column("created_at")
        public static let leaseOwner = Column("lease_owner"), leaseUntil = Column("lease_until")
        public static let nextAttemptAt = Column("next_attempt_at")
    }
}

extension OutboxAttempt: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outbox_attempt"
}
