import Foundation

/// Rows of the data contract v1 (docs/data-contract.md) as plain values. The store
/// adds database conformances; the simulator and the console share these shapes.
/// Coding keys are the column names, so `--json` output matches the schema.

/// One append-only row of `audit_event`: an EHR request, or an operator action.
public struct AuditEvent: Codable, Sendable, Equatable {
    public var seq: Int64?
    public var at: UnixMillis
    /// `agent:<id>` or `operator:<user>`.
    public var actor: String
    public var callId: String?
    /// What was done: `patient.search`, `appointment.create`, `review.approve`, …
    public var action: String
    public var ehrSystem: String?
    public var transport: Transport?
    public var method: String?
    public var resourceType: String?
    public var resourceId: String?
    public var outcome: AuditOutcome
    public var httpStatus: Int?
    public var latencyMs: Int?
    public var attempt: Int?
    /// JSON object with no secrets.
    public var detail: String?
    public var prevHash: String
    public var hash: String

    public init(seq: Int64? = nil, at: UnixMillis, actor: String, callId: String? = nil, action: String,
                ehrSystem: String? = nil, transport: Transport? = nil, method: String? = nil,
                resourceType: String? = nil, resourceId: String? = nil, outcome: AuditOutcome = .success,
                httpStatus: Int? = nil, latencyMs: Int? = nil, attempt: Int? = nil, detail: String? = nil,
                prevHash: String = "", hash: String = "") {
        self.seq = seq; self.at = at; self.actor = actor; self.callId = callId; self.action = action
        self.ehrSystem = ehrSystem; self.transport = transport; self.method = method
        self.resourceType = resourceType; self.resourceId = resourceId; self.outcome = outcome
        self.httpStatus = httpStatus; self.latencyMs = latencyMs; self.attempt = attempt; self.detail = detail
        self.prevHash = prevHash; self.hash = hash
    }

    enum CodingKeys: String, CodingKey {
        case seq, at, actor, action, method, outcome, attempt, detail, hash, transport
        case callId = "call_id", ehrSystem = "ehr_system", resourceType = "resource_type"
        case resourceId = "resource_id", httpStatus = "http_status", latencyMs = "latency_ms"
        case prevHash = "prev_hash"
    }

    /// Whether this row is an EHR request (as opposed to an operator action or a call event).
    public var isEHRRequest: Bool { transport != nil }
}

/// One phone call handled by the agent.
public struct Call: Codable, Sendable, Equatable {
    public var callId: String
    public var startedAt: UnixMillis
    /// NULL while the call is in progress.
    public var endedAt: UnixMillis?
    /// Masked caller number, e.g. `***-***-0142`.
    public var caller: String?
    public var patientRef: String?
    /// A `Workflow` raw value (open-ended: a newer agent may add more).
    public var intent: String?
    /// A `CallOutcome` raw value, NULL while in progress.
    public var outcome: String?
    public var firstCallResolved: Bool?
    public var summary: String?

    public init(callId: String, startedAt: UnixMillis, endedAt: UnixMillis? = nil, caller: String? = nil,
                patientRef: String? = nil, intent: String? = nil, outcome: String? = nil,
                firstCallResolved: Bool? = nil, summary: String? = nil) {
        self.callId = callId; self.startedAt = startedAt; self.endedAt = endedAt; self.caller = caller
        self.patientRef = patientRef; self.intent = intent; self.outcome = outcome
        self.firstCallResolved = firstCallResolved; self.summary = summary
    }

    enum CodingKeys: String, CodingKey {
        case caller, intent, outcome, summary
        case callId = "call_id", startedAt = "started_at", endedAt = "ended_at"
        case patientRef = "patient_ref", firstCallResolved = "first_call_resolved"
    }

    public var inProgress: Bool { endedAt == nil }
}

extension Call {
    /// How many of the caller's digits a viewer is shown (the agent stores four).
    public static let digitsShownToViewers = 2

    /// `number` with all but its last `digits` digits hidden: `***-***-0142` → `***-***-**42`.
    public static func caller(_ number: String, showingLast digits: Int) -> String {
        var digitsLeft = digits
        return String(number.reversed().map { character -> Character in
            guard character.isNumber else { return character }
            if digitsLeft > 0 { digitsLeft -= 1; return character }
            return "*"
        }.reversed())
    }
}

/// An appointment the agent created, moved or cancelled.
public struct Booking: Codable, Sendable, Equatable, Identifiable {
    public var bookingId: String
    public var callId: String?
    public var kind: BookingKind
    public var appointmentRef: String
    /// The EHR's ETag / `meta.versionId` as the agent saw it after its write.
    public var appointmentVersion: String?
    public var patientRef: String?
    public var patientDisplay: String?
    public var providerRef: String?
    public var appointmentType: String?
    public var startAt: UnixMillis
    public var endAt: UnixMillis
    public var bookedAt: UnixMillis
    public var reviewRequired: Bool
    /// JSON array of `ReviewFlag` raw values.
    public var flags: String

    public var id: String { bookingId }

    public init(bookingId: String, callId: String?, kind: BookingKind, appointmentRef: String,
                appointmentVersion: String?, patientRef: String?, patientDisplay: String?,
                providerRef: String?, appointmentType: String?, startAt: UnixMillis, endAt: UnixMillis,
                bookedAt: UnixMillis, reviewRequired: Bool, flags: [ReviewFlag]) {
        self.bookingId = bookingId; self.callId = callId; self.kind = kind; self.appointmentRef = appointmentRef
        self.appointmentVersion = appointmentVersion; self.patientRef = patientRef
        self.patientDisplay = patientDisplay; self.providerRef = providerRef
        self.appointmentType = appointmentType; self.startAt = startAt; self.endAt = endAt
        self.bookedAt = bookedAt; self.reviewRequired = reviewRequired
        self.flags = ReviewFlag.encode(flags)
    }

    enum CodingKeys: String, CodingKey {
        case kind, flags
        case bookingId = "booking_id", callId = "call_id", appointmentRef = "appointment_ref"
        case appointmentVersion = "appointment_version", patientRef = "patient_ref"
        case patientDisplay = "patient_display", providerRef = "provider_ref"
        case appointmentType = "appointment_type", startAt = "start_at", endAt = "end_at"
        case bookedAt = "booked_at", reviewRequired = "review_required"
    }

    /// The flags as words; unknown words from a newer agent are kept as text by `flagLabels`.
    public var flagLabels: [String] { ReviewFlag.decodeLabels(flags) }
}

extension ReviewFlag {
    public static func encode(_ flags: [ReviewFlag]) -> String {
        "[" + flags.map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
    }

    /// Reads a JSON array of strings leniently; a malformed value yields no flags.
    public static func decodeLabels(_ json: String) -> [String] {
        decodeWords(json).map { ReviewFlag(rawValue: $0)?.label ?? $0 }
    }

    /// The agent's words as it wrote them (a flag this version does not know stays as it is).
    public static func decodeWords(_ json: String) -> [String] {
        guard let data = json.data(using: .utf8),
              let words = try? JSONDecoder().decode([String].self, from: data) else { return [] }
        return words
    }
}

/// A reviewer's decision on a booking; at most one per booking (UNIQUE).
public struct ReviewDecision: Codable, Sendable, Equatable {
    public var bookingId: String
    public var decision: ReviewVerdict
    public var category: String?
    public var note: String?
    public var `operator`: String
    public var decidedAt: UnixMillis
    /// JSON: the booking as it was, and as corrected.
    public var before: String?
    public var after: String?

    public init(bookingId: String, decision: ReviewVerdict, category: String? = nil, note: String? = nil,
                operator: String, decidedAt: UnixMillis, before: String? = nil, after: String? = nil) {
        self.bookingId = bookingId; self.decision = decision; self.category = category; self.note = note
        self.operator = `operator`; self.decidedAt = decidedAt; self.before = before; self.after = after
    }

    enum CodingKeys: String, CodingKey {
        case decision, category, note, `operator`, before, after
        case bookingId = "booking_id", decidedAt = "decided_at"
    }
}

/// A transaction waiting for, or done with, the EHR.
public struct OutboxItem: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var createdAt: UnixMillis
    public var callId: String?
    public var bookingId: String?
    public var ehrSystem: String
    public var transport: Transport
    /// `appointment.create`, `appointment.update`, `communication.create`, `hl7.siu_s12`, …
    public var operation: String
    /// JSON: method, url, headers (no secrets), body or HL7 message.
    public var request: String
    public var idempotencyKey: String
    public var status: OutboxStatus
    public var attempts: Int
    public var maxAttempts: Int
    public var nextAttemptAt: UnixMillis?
    public var leaseOwner: String?
    public var leaseUntil: UnixMillis?
    public var lastError: String?
    public var lastHttpStatus: Int?
    public var updatedAt: UnixMillis

    public init(id: String, createdAt: UnixMillis, callId: String?, bookingId: String?, ehrSystem: String,
                transport: Transport, operation: String, request: String, idempotencyKey: String,
                status: OutboxStatus = .pending, attempts: Int = 0, maxAttempts: Int = 8,
                nextAttemptAt: UnixMillis? = nil, leaseOwner: String? = nil, leaseUntil: UnixMillis? = nil,
                lastError: String? = nil, lastHttpStatus: Int? = nil, updatedAt: UnixMillis) {
        self.id = id; self.createdAt = createdAt; self.callId = callId; self.bookingId = bookingId
        self.ehrSystem = ehrSystem; self.transport = transport; self.operation = operation
        self.request = request; self.idempotencyKey = idempotencyKey; self.status = status
        self.attempts = attempts; self.maxAttempts = maxAttempts; self.nextAttemptAt = nextAttemptAt
        self.leaseOwner = leaseOwner; self.leaseUntil = leaseUntil; self.lastError = lastError
        self.lastHttpStatus = lastHttpStatus; self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, transport, operation, request, status, attempts
        case createdAt = "created_at", callId = "call_id", bookingId = "booking_id"
        case ehrSystem = "ehr_system", idempotencyKey = "idempotency_key", maxAttempts = "max_attempts"
        case nextAttemptAt = "next_attempt_at", leaseOwner = "lease_owner", leaseUntil = "lease_until"
        case lastError = "last_error", lastHttpStatus = "last_http_status", updatedAt = "updated_at"
    }
}

extension OutboxItem {
    /// The idempotency keys of a reviewer's corrections start with this; the agent's own
    /// writes have other keys.
    public static let correctionKeyPrefix = "correction:"

    /// A reviewer's correction (Review's `c`, `switchboard review correct`), not a write of the agent's.
    public var isCorrection: Bool { idempotencyKey.hasPrefix(Self.correctionKeyPrefix) }
}

/// One try at sending an outbox item.
public struct OutboxAttempt: Codable, Sendable, Equatable {
    public var itemId: String
    public var attempt: Int
    public var startedAt: UnixMillis
    public var endedAt: UnixMillis?
    /// `success`, `retryable`, `permanent`, `timeout`.
    public var outcome: String
    /// HTTP status, or nil for HL7v2 / transport errors.
    public var httpStatus: Int?
    /// HL7v2 ACK code (AA, AE, AR).
    public var ackCode: String?
    public var error: String?

    public init(itemId: String, attempt: Int, startedAt: UnixMillis, endedAt: UnixMillis?, outcome: String,
                httpStatus: Int? = nil, ackCode: String? = nil, error: String? = nil) {
        self.itemId = itemId; self.attempt = attempt; self.startedAt = startedAt; self.endedAt = endedAt
        self.outcome = outcome; self.httpStatus = httpStatus; self.ackCode = ackCode; self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case attempt, outcome, error
        case itemId = "item_id", startedAt = "started_at", endedAt = "ended_at"
        case httpStatus = "http_status", ackCode = "ack_code"
    }
}

extension OutboxItem {
    /// The EHR refused the write because the record changed since the version it names:
    /// HTTP 412 (FHIR `If-Match`, the REST API's `version`), or over HL7 v2 an `ACK AE 206`
    /// (record changed). Such a write needs a person's new decision, never a blind retry.
    public var refusedAsChanged: Bool {
        lastHttpStatus == 412 || (lastError ?? "").hasPrefix("ACK AE 206")
    }
}
