import GRDB
import SwitchboardCore

// Database conformances for the contract's rows. Core keeps the shapes pure; the
// coding keys there are the column names. Decoding and encoding are written out by
// hand: GRDB's Codable path costs several times more per row, and pages and bulk
// loads are the hot paths (see docs/benchmarks.md). Audit rows and bookings, the two
// big tables, decode by column position: their rows are always selected in schema
// order (`SELECT *`, or the store's explicit column lists), which the schema tests pin.
// Every column goes through `StrictRow`: a bad value is an `UnreadableRow`, never a trap.

extension AuditEvent: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "audit_event"

    public init(row: Row) throws {
        let r = StrictRow(row, table: "audit_event", key: "seq")
        let transport = try r.textOrNil(6, "transport")
        guard let outcome = AuditOutcome(rawValue: try r.int(10, "outcome")) else { throw r.failure("outcome", "is not a known outcome") }
        self.init(seq: try r.integer(0, "seq"), at: try r.time(1, "at"), actor: try r.text(2, "actor"),
                  callId: try r.textOrNil(3, "call_id"), action: try r.text(4, "action"),
                  ehrSystem: try r.textOrNil(5, "ehr_system"),
                  transport: try transport.map { try Transport(rawValue: $0) ?? { throw r.failure("transport", "is not a known transport") }() },
                  method: try r.textOrNil(7, "method"), resourceType: try r.textOrNil(8, "resource_type"),
                  resourceId: try r.textOrNil(9, "resource_id"), outcome: outcome, httpStatus: try r.intOrNil(11, "http_status"),
                  latencyMs: try r.intOrNil(12, "latency_ms"), attempt: try r.intOrNil(13, "attempt"),
                  detail: try r.textOrNil(14, "detail"), prevHash: try r.text(15, "prev_hash"), hash: try r.text(16, "hash"))
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
        try self.init(row: row, at: Call.positions(in: Array(row.columnNames)))
    }

    static let columnNames = ["call_id", "started_at", "ended_at", "caller", "patient_ref", "intent", "outcome",
                              "first_call_resolved", "summary"]

    /// Where each of `columnNames` is in rows with these column names: a list finds them
    /// once per statement (by name on every row was a third of a Calls read under load).
    static func positions(in names: [String]) -> [Int] {
        columnNames.map { StrictRow.position(of: $0, in: names) }
    }

    /// A call from a row whose columns are at `at` (from `positions(in:)`).
    init(row: Row, at: [Int]) throws {
        let r = StrictRow(row, table: "call", key: "call_id")
        self.init(callId: try r.text(at[0], "call_id"), startedAt: try r.time(at[1], "started_at"),
                  endedAt: try r.timeOrNil(at[2], "ended_at"), caller: try r.textOrNil(at[3], "caller"),
                  patientRef: try r.textOrNil(at[4], "patient_ref"), intent: try r.textOrNil(at[5], "intent"),
                  outcome: try r.textOrNil(at[6], "outcome"),
                  firstCallResolved: try r.boolOrNil(at[7], "first_call_resolved"),
                  summary: try r.textOrNil(at[8], "summary"))
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
        let r = StrictRow(row, table: "booking", key: "booking_id")
        self.init(bookingId: try r.text(0, "booking_id"), callId: try r.textOrNil(1, "call_id"),
                  kind: try r.word(2, "kind", as: BookingKind.self), appointmentRef: try r.text(3, "appointment_ref"),
                  appointmentVersion: try r.textOrNil(4, "appointment_version"), patientRef: try r.textOrNil(5, "patient_ref"),
                  patientDisplay: try r.textOrNil(6, "patient_display"), providerRef: try r.textOrNil(7, "provider_ref"),
                  appointmentType: try r.textOrNil(8, "appointment_type"), startAt: try r.time(9, "start_at"),
                  endAt: try r.time(10, "end_at"), bookedAt: try r.time(11, "booked_at"),
                  reviewRequired: try r.boolOrNil(12, "review_required") ?? false, flags: [])
        flags = try r.textOrNil(13, "flags") ?? "[]"
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
        let r = StrictRow(row, table: "review_decision", key: "booking_id").named()
        self.init(bookingId: try r.text(r.at("booking_id"), "booking_id"),
                  decision: try r.word(r.at("decision"), "decision", as: ReviewVerdict.self),
                  category: try r.textOrNil(r.at("category"), "category"), note: try r.textOrNil(r.at("note"), "note"),
                  operator: try r.text(r.at("operator"), "operator"), decidedAt: try r.time(r.at("decided_at"), "decided_at"),
                  before: try r.textOrNil(r.at("before"), "before"), after: try r.textOrNil(r.at("after"), "after"))
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
        let r = StrictRow(row, table: "outbox_item", key: "id").named()
        func text(_ c: String) throws -> String { try r.text(r.at(c), c) }
        func textOrNil(_ c: String) throws -> String? { try r.textOrNil(r.at(c), c) }
        self.init(id: try text("id"), createdAt: try r.time(r.at("created_at"), "created_at"), callId: try textOrNil("call_id"),
                  bookingId: try textOrNil("booking_id"), ehrSystem: try text("ehr_system"),
                  transport: try r.word(r.at("transport"), "transport", as: Transport.self),
                  operation: try text("operation"), request: try text("request"), idempotencyKey: try text("idempotency_key"),
                  status: try r.word(r.at("status"), "status", as: OutboxStatus.self), attempts: try r.int(r.at("attempts"), "attempts"),
                  maxAttempts: try r.int(r.at("max_attempts"), "max_attempts"),
                  // `heldUntilDecided` (Int64.max) is a schedule, not a time: kept as it is.
                  nextAttemptAt: try r.integerOrNil(r.at("next_attempt_at"), "next_attempt_at") == OutboxItem.heldUntilDecided
                      ? OutboxItem.heldUntilDecided : try r.timeOrNil(r.at("next_attempt_at"), "next_attempt_at"), leaseOwner: try textOrNil("lease_owner"),
                  leaseUntil: try r.timeOrNil(r.at("lease_until"), "lease_until"), lastError: try textOrNil("last_error"),
                  lastHttpStatus: try r.intOrNil(r.at("last_http_status"), "last_http_status"),
                  updatedAt: try r.time(r.at("updated_at"), "updated_at"))
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
        let r = StrictRow(row, table: "outbox_attempt", key: "item_id").named()
        self.init(itemId: try r.text(r.at("item_id"), "item_id"), attempt: try r.int(r.at("attempt"), "attempt"),
                  startedAt: try r.time(r.at("started_at"), "started_at"), endedAt: try r.timeOrNil(r.at("ended_at"), "ended_at"),
                  outcome: try r.text(r.at("outcome"), "outcome"), httpStatus: try r.intOrNil(r.at("http_status"), "http_status"),
                  ackCode: try r.textOrNil(r.at("ack_code"), "ack_code"), error: try r.textOrNil(r.at("error"), "error"))
    }

    public func encode(to container: inout PersistenceContainer) {
        container["item_id"] = itemId; container["attempt"] = attempt; container["started_at"] = startedAt
        container["ended_at"] = endedAt; container["outcome"] = outcome; container["http_status"] = httpStatus
        container["ack_code"] = ackCode; container["error"] = error
    }
}
