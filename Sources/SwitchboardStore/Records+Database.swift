import GRDB
import SwitchboardCore

// Database conformances for the contract's rows. Core keeps the shapes pure; the
// coding keys there are the column names. Decoding and encoding are written out by
// hand: GRDB's Codable path costs several times more per row, and pages and bulk
// loads are the hot paths (see docs/benchmarks.md). Audit rows and bookings, the two
// big tables, decode by column position: their rows are always selected in schema
// order (`SELECT *`, or the store's explicit column lists), which the schema tests pin.

extension AuditEvent: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audit_event"

    public init(row: Row) throws {
        self.init(seq: row[0], at: row[1], actor: row[2], callId: row[3], action: row[4],
                  ehrSystem: row[5], transport: (row[6] as String?).flatMap(Transport.init(rawValue:)),
                  method: row[7], resourceType: row[8], resourceId: row[9],
                  outcome: AuditOutcome(rawValue: row[10]) ?? .majorFailure, httpStatus: row[11],
                  latencyMs: row[12], attempt: row[13], detail: row[14], prevHash: row[15], hash: row[16])
    }

    public func encode(to container: inout PersistenceContainer) {
        container["seq"] = seq; container["at"] = at; container["actor"] = actor; container["call_id"] = callId
        container["action"] = action; container["ehr_system"] = ehrSystem; container["transport"] = transport?.rawValue
        container["method"] = method; container["resource_type"] = resourceType; container["resource_id"] = resourceId
        container["outcome"] = outcome.rawValue; container["http_status"] = httpStatus; container["latency_ms"] = latencyMs
        container["attempt"] = attempt; container["detail"] = detail; container["prev_hash"] = prevHash; container["hash"] = hash
    }
}

extension Call: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "call"

    public init(row: Row) throws {
        self.init(callId: row["call_id"], startedAt: row["started_at"], endedAt: row["ended_at"], caller: row["caller"],
                  patientRef: row["patient_ref"], intent: row["intent"], outcome: row["outcome"],
                  firstCallResolved: row["first_call_resolved"], summary: row["summary"])
    }

    public func encode(to container: inout PersistenceContainer) {
        container["call_id"] = callId; container["started_at"] = startedAt; container["ended_at"] = endedAt
        container["caller"] = caller; container["patient_ref"] = patientRef; container["intent"] = intent
        container["outcome"] = outcome; container["first_call_resolved"] = firstCallResolved; container["summary"] = summary
    }
}

extension Booking: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "booking"

    public init(row: Row) throws {
        self.init(bookingId: row[0], callId: row[1], kind: BookingKind(rawValue: row[2]) ?? .book, appointmentRef: row[3],
                  appointmentVersion: row[4], patientRef: row[5], patientDisplay: row[6], providerRef: row[7],
                  appointmentType: row[8], startAt: row[9], endAt: row[10], bookedAt: row[11], reviewRequired: row[12],
                  flags: [])
        flags = row[13] ?? "[]"
    }

    public func encode(to container: inout PersistenceContainer) {
        container["booking_id"] = bookingId; container["call_id"] = callId; container["kind"] = kind.rawValue
        container["appointment_ref"] = appointmentRef; container["appointment_version"] = appointmentVersion
        container["patient_ref"] = patientRef; container["patient_display"] = patientDisplay
        container["provider_ref"] = providerRef; container["appointment_type"] = appointmentType
        container["start_at"] = startAt; container["end_at"] = endAt; container["booked_at"] = bookedAt
        container["review_required"] = reviewRequired; container["flags"] = flags
    }
}

extension ReviewDecision: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "review_decision"

    public init(row: Row) throws {
        self.init(bookingId: row["booking_id"], decision: ReviewVerdict(rawValue: row["decision"]) ?? .approved,
                  category: row["category"], note: row["note"], operator: row["operator"], decidedAt: row["decided_at"],
                  before: row["before"], after: row["after"])
    }

    public func encode(to container: inout PersistenceContainer) {
        container["booking_id"] = bookingId; container["decision"] = decision.rawValue; container["category"] = category
        container["note"] = note; container["operator"] = `operator`; container["decided_at"] = decidedAt
        container["before"] = before; container["after"] = after
    }
}

extension OutboxItem: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outbox_item"

    public init(row: Row) throws {
        self.init(id: row["id"], createdAt: row["created_at"], callId: row["call_id"], bookingId: row["booking_id"],
                  ehrSystem: row["ehr_system"], transport: Transport(rawValue: row["transport"]) ?? .fhir,
                  operation: row["operation"], request: row["request"], idempotencyKey: row["idempotency_key"],
                  status: OutboxStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
                  maxAttempts: row["max_attempts"], nextAttemptAt: row["next_attempt_at"], leaseOwner: row["lease_owner"],
                  leaseUntil: row["lease_until"], lastError: row["last_error"], lastHttpStatus: row["last_http_status"],
                  updatedAt: row["updated_at"])
    }

    public func encode(to container: inout PersistenceContainer) {
        container["id"] = id; container["created_at"] = createdAt; container["call_id"] = callId
        container["booking_id"] = bookingId; container["ehr_system"] = ehrSystem; container["transport"] = transport.rawValue
        container["operation"] = operation; container["request"] = request; container["idempotency_key"] = idempotencyKey
        container["status"] = status.rawValue; container["attempts"] = attempts; container["max_attempts"] = maxAttempts
        container["next_attempt_at"] = nextAttemptAt; container["lease_owner"] = leaseOwner; container["lease_until"] = leaseUntil
        container["last_error"] = lastError; container["last_http_status"] = lastHttpStatus; container["updated_at"] = updatedAt
    }
}

extension OutboxAttempt: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "outbox_attempt"

    public init(row: Row) throws {
        self.init(itemId: row["item_id"], attempt: row["attempt"], startedAt: row["started_at"], endedAt: row["ended_at"],
                  outcome: row["outcome"], httpStatus: row["http_status"], ackCode: row["ack_code"], error: row["error"])
    }

    public func encode(to container: inout PersistenceContainer) {
        container["item_id"] = itemId; container["attempt"] = attempt; container["started_at"] = startedAt
        container["ended_at"] = endedAt; container["outcome"] = outcome; container["http_status"] = httpStatus
        container["ack_code"] = ackCode; container["error"] = error
    }
}
