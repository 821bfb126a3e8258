import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardStore

/// The review rules, in one place: the Review screen and `switchboard review` both act
/// through this type, so a key press and a script are held to the same checks.
///
///     let actions = ReviewActions(audit: audit, outbox: outbox, operator: me, undoSeconds: 5)
///     switch try actions.approve(bookingId: "bk-0000688", now: Clock.nowMillis()) {
///     case .recorded: …                        // the row moves to decided
///     case .alreadyDecided(let first): …       // "approved by maria.g at …"
///     case .noSuchBooking, .notAllowed: …
///     }
public struct ReviewActions: Sendable {
    public let audit: AuditStore
    public let outbox: OutboxStore?
    public let `operator`: OperatorIdentity
    public let undoSeconds: Int

    public init(audit: AuditStore, outbox: OutboxStore?, operator: OperatorIdentity, undoSeconds: Int) {
        self.audit = audit
        self.outbox = outbox
        self.operator = `operator`
        self.undoSeconds = undoSeconds
    }

    // MARK: Approve

    /// Approves one booking: written at most once (the store's compare-and-set), with its
    /// audit row in the same transaction.
    public func approve(bookingId: String, now: UnixMillis) throws -> ReviewOutcome {
        if let refusal = `operator`.reviewRefusal { return .notAllowed(refusal) }
        let decision = ReviewDecision(bookingId: bookingId, decision: .approved, operator: `operator`.user, decidedAt: now)
        return ReviewOutcome(try audit.decide(decision, detail: decisionDetail(decision)))
    }

    /// Takes back this operator's own approval within `undoSeconds`.
    public func undoApproval(bookingId: String, now: UnixMillis) throws -> UndoOutcome {
        if let refusal = `operator`.reviewRefusal { return .refused(reason: refusal) }
        return try audit.undoApproval(bookingId: bookingId, operator: `operator`.user, now: now,
                                      withinMillis: Int64(undoSeconds) * 1000,
                                      detail: `operator`.auditDetail(["booking_id": bookingId, "undone": "approved"]))
    }

    /// Approves exactly `ids` — the selection as it was when the operator confirmed, not
    /// whatever matches now — each with its own compare-and-set.
    public func approveAll(_ ids: [String], now: UnixMillis) throws -> BulkOutcome {
        var outcome = BulkOutcome()
        if let refusal = `operator`.reviewRefusal {
            outcome.notAllowed = refusal
            return outcome
        }
        var seen: Set<String> = []
        for id in ids where seen.insert(id).inserted {
            switch try approve(bookingId: id, now: now) {
            case .recorded: outcome.approved.append(id)
            case .alreadyDecided(let first): outcome.alreadyDecided.append(first)
            case .noSuchBooking(let missing): outcome.missing.append(missing)
            case .notAllowed(let reason): outcome.notAllowed = reason
            }
        }
        return outcome
    }

    // MARK: Correct

    /// Records a correction and queues the EHR change.
    ///
    /// The decision lives in `audit.sqlite` and the EHR change in `outbox.sqlite`; no
    /// transaction spans both. So the order is:
    /// 1. queue the change *held* (due at the end of time: no worker picks it up);
    /// 2. record the decision (compare-and-set);
    /// 3. won: release the item (due now); lost: discard it.
    /// Nothing reaches the EHR unless its decision is on record. A crash between 1 and 3
    /// leaves a held item that the Outbox screen shows and an operator can release or
    /// discard; it is never sent by itself.
    public func correct(_ correction: Correction, now: UnixMillis) throws -> ReviewOutcome {
        if let refusal = `operator`.reviewRefusal { return .notAllowed(refusal) }
        guard let outbox else { throw CorrectionError.noOutbox }
        guard let booking = try audit.booking(id: correction.bookingId) else { return .noSuchBooking(correction.bookingId) }
        if let first = try audit.decision(bookingId: booking.bookingId) { return .alreadyDecided(first) }
        return try queueAndDecide(correction, booking: booking, outbox: outbox, now: now)
    }

    /// Steps 1–3 above; the early check in `correct` only saves queueing in the common case.
    public func queueAndDecide(_ correction: Correction, booking: Booking, outbox: OutboxStore, now: UnixMillis) throws -> ReviewOutcome {
        // Unique per attempt: two reviewers correcting the same booking at once must
        // each hold (and, on losing, discard) only their own item.
        let nonce = Self.correctionNonce()
        let key = Self.correctionKey(bookingId: booking.bookingId, operator: `operator`.user, now: now, nonce: nonce)
        // The site's pathway decides the write: the agent's own write of the booking shows it.
        let change = try CorrectionChange(booking: booking, correction: correction, written: try agentWrite(of: booking),
                                          idempotencyKey: key, now: now)

        let item = OutboxItem(
            id: "ob-correction-\(booking.bookingId)-\(now)-\(nonce)", createdAt: now,
            callId: booking.callId, bookingId: booking.bookingId, ehrSystem: try ehrSystem(of: booking), transport: change.write.transport,
            operation: change.write.operation, request: change.request, idempotencyKey: key,
            nextAttemptAt: ReviewActions.heldUntilDecided, updatedAt: now)
        guard try outbox.enqueue([item]) == 1 else { throw CorrectionError.notQueued }

        let decision = ReviewDecision(bookingId: booking.bookingId, decision: .corrected, category: correction.category.rawValue,
                                      note: correction.note, operator: `operator`.user, decidedAt: now,
                                      before: change.before, after: change.after)
        let outcome = ReviewOutcome(try audit.decide(decision, detail: decisionDetail(decision)))
        switch outcome {
        case .recorded:
            _ = try outbox.retryNow(id: item.id, now: now)
        case .alreadyDecided(let first):
            _ = try outbox.discard(id: item.id, reason: "\(first.operator) decided this booking first", now: now)
        case .noSuchBooking, .notAllowed:
            _ = try outbox.discard(id: item.id, reason: "the correction was not recorded", now: now)
        }
        return outcome
    }

    /// The decision row's detail, with who decided (user, uid, role).
    private func decisionDetail(_ d: ReviewDecision) -> String {
        `operator`.auditDetail(["booking_id": d.bookingId, "decision": d.decision.rawValue, "category": d.category, "note": d.note])
    }

    /// `correction:<booking>:<operator>:<ms>:<nonce>`: the decision it was queued for, and a
    /// nonce, so two corrections in one millisecond never share a key (the second would be
    /// dropped as a duplicate by the outbox, silently).
    static func correctionKey(bookingId: String, operator user: String, now: UnixMillis, nonce: String) -> String {
        "\(OutboxItem.correctionKeyPrefix)\(bookingId):\(user):\(now):\(nonce)"
    }

    static func correctionNonce() -> String { String(UUID().uuidString.prefix(8).lowercased()) }

    /// `next_attempt_at` of a correction queued before its decision is recorded: no
    /// worker's schedule ever reaches it. The Outbox screen lists such items as held.
    public static let heldUntilDecided: UnixMillis = OutboxItem.heldUntilDecided

    /// Where the booking's correction stands in the outbox (waiting, sent, failed 412, …),
    /// or nil if it has none. The latest item that was not discarded wins.
    public func correctionStatus(bookingId: String) throws -> OutboxItem? {
        guard let outbox else { return nil }
        let corrections = try outbox.items(forBooking: bookingId).filter(\.isCorrection)
        return corrections.last { $0.status != .discarded } ?? corrections.last
    }

    /// The EHR the booking was made in, from its call's appointment write; the correction
    /// goes back to the same system.
    private func ehrSystem(of booking: Booking) throws -> String {
        guard let callId = booking.callId else { return "ehr" }
        let steps = try audit.steps(ofCall: callId)
        let write = steps.last { $0.action.hasPrefix("appointment.") && $0.ehrSystem != nil } ?? steps.last { $0.ehrSystem != nil }
        return write?.ehrSystem ?? "ehr"
    }
}

/// What became of a decision offered for one booking.
public enum ReviewOutcome: Sendable, Equatable {
    /// This decision is on record, with its audit row.
    case recorded(ReviewDecision)
    /// Someone decided first; theirs stands (who, what and when).
    case alreadyDecided(ReviewDecision)
    case noSuchBooking(String)
    /// The operator's role or the console's read-only mode forbids it; the text says which.
    case notAllowed(String)

    public init(_ outcome: DecisionOutcome) {
        switch outcome {
        case .recorded(let decision, _): self = .recorded(decision)
        case .alreadyDecided(let first): self = .alreadyDecided(first)
        case .noSuchBooking(let id): self = .noSuchBooking(id)
        }
    }
}

/// What a bulk approve did, booking by booking.
public struct BulkOutcome: Sendable, Equatable {
    public var approved: [String] = []
    /// Bookings someone else decided first, with their decisions.
    public var alreadyDecided: [ReviewDecision] = []
    public var missing: [String] = []
    /// Set when nothing was done because the operator may not review.
    public var notAllowed: String?

    public init() {}
}

/// A reviewer's correction of one booking. Times are unix milliseconds.
public struct Correction: Sendable, Equatable {
    public var bookingId: String
    public var category: CorrectionCategory
    public var note: String?
    public var newStart: UnixMillis?
    public var newEnd: UnixMillis?
    /// The free slot chosen in the live slot picker (`Slot/…`).
    public var newSlotRef: String?
    public var newProviderRef: String?
    public var newAppointmentType: String?
    /// The booking should not exist: cancel the appointment.
    public var cancel: Bool

    public init(bookingId: String, category: CorrectionCategory, note: String? = nil, newStart: UnixMillis? = nil,
                newEnd: UnixMillis? = nil, newSlotRef: String? = nil, newProviderRef: String? = nil,
                newAppointmentType: String? = nil, cancel: Bool = false) {
        self.bookingId = bookingId; self.category = category; self.note = note
        self.newStart = newStart; self.newEnd = newEnd; self.newSlotRef = newSlotRef
        self.newProviderRef = newProviderRef; self.newAppointmentType = newAppointmentType; self.cancel = cancel
    }

    /// Whether the correction changes anything in the EHR.
    public var changesAppointment: Bool {
        cancel || newStart != nil || newEnd != nil || newSlotRef != nil || newProviderRef != nil || newAppointmentType != nil
    }
}

/// Why a correction was not even offered for a decision.
public enum CorrectionError: Error, Equatable, CustomStringConvertible {
    /// No outbox database is configured, so the EHR change could not be queued.
    case noOutbox
    case nothingToChange(bookingId: String)
    case cancelWithChanges(bookingId: String)
    case endBeforeStart(bookingId: String)
    /// The agent recorded no EHR version, so the update could not be made conditional.
    case noVersion(bookingId: String, appointmentRef: String)
    /// The outbox already held an item with the correction's idempotency key.
    case notQueued
    /// The site's pathway cannot carry this correction (e.g. a REST move without a slot).
    case pathway(bookingId: String, CorrectionRequestError)

    public var description: String {
        switch self {
        case .noOutbox:
            "corrections need the outbox database (--outbox PATH, or outbox in the config): the EHR change must be queued with the decision"
        case .nothingToChange(let id):
            "\(id): a correction must change something: a new time or slot, provider, type, or cancel"
        case .cancelWithChanges(let id):
            "\(id): cancel the appointment or change it, not both"
        case .endBeforeStart(let id):
            "\(id): the new end must be after the new start"
        case .noVersion(let id, let ref):
            "\(id): the agent recorded no version of \(ref), so a safe update (If-Match) is impossible; correct it in the EHR"
        case .notQueued:
            "the outbox already holds a change with this correction's key; nothing was decided, try again"
        case .pathway(let id, let error):
            "\(id): \(error)"
        }
    }
}

/// The EHR change a correction asks for, and the decision's `before`/`after`.
public struct CorrectionChange {
    /// The write on the site's pathway (`CorrectionRequests`, in SwitchboardEHR).
    public var write: PathwayWrite
    public var request: String { write.request.json }
    public var before: String
    public var after: String

    /// `base` is the whole appointment the correction starts from: as the agent last wrote
    /// it, or as the EHR holds it now after a 412. A FHIR PUT replaces the resource, so
    /// what the correction does not change (the slot, the agent's booking identifier, the
    /// description) must be sent again, or the EHR drops it. Without a base the
    /// appointment is rebuilt from the booking row, which knows no slot.
    /// `written` is the agent's last delivered write of the booking: its transport is the
    /// site's pathway, and its body the appointment as written.
    public init(booking: Booking, correction c: Correction, base: Appointment? = nil, written: OutboxItem? = nil,
                idempotencyKey: String = "", now: UnixMillis = 0) throws(CorrectionError) {
        let id = booking.bookingId
        guard c.changesAppointment else { throw .nothingToChange(bookingId: id) }
        let cancel = c.cancel
        if cancel && (c.newStart != nil || c.newEnd != nil || c.newSlotRef != nil || c.newProviderRef != nil || c.newAppointmentType != nil) {
            throw .cancelWithChanges(bookingId: id)
        }
        guard let version = booking.appointmentVersion, !version.isEmpty else {
            throw .noVersion(bookingId: id, appointmentRef: booking.appointmentRef)
        }
        // A new start alone keeps the appointment's length.
        let start = c.newStart ?? booking.startAt
        let end = c.newEnd ?? (c.newStart.map { $0 + (booking.endAt - booking.startAt) } ?? booking.endAt)
        guard end > start else { throw .endBeforeStart(bookingId: id) }
        let provider = c.newProviderRef ?? booking.providerRef
        let type = c.newAppointmentType ?? booking.appointmentType

        let correction = AppointmentCorrection(
            appointmentRef: booking.appointmentRef, version: version, cancel: cancel, start: start, end: end, newSlotRef: c.newSlotRef,
            newProviderRef: c.newProviderRef, newAppointmentType: c.newAppointmentType, providerRef: provider, appointmentType: type,
            patientRef: booking.patientRef)
        let writtenRequest = written.flatMap { OutboxRequest.decode($0.request) }
        do {
            write = try CorrectionRequests.write(pathway: written?.transport ?? .fhir, correction: correction, written: writtenRequest,
                                                 base: base, idempotencyKey: idempotencyKey, now: now)
        } catch {
            throw .pathway(bookingId: id, error)
        }
        let slotRef = c.newSlotRef ?? (try? FHIRJSON.decode(Appointment.self, from: Data(write.request.body.utf8)))?.slot?.first?.reference

        before = JSONText.object([
            "status": "booked", "start_at": booking.startAt, "end_at": booking.endAt, "provider_ref": booking.providerRef,
            "appointment_type": booking.appointmentType, "appointment_version": version,
        ])
        after = JSONText.object([
            "status": cancel ? "cancelled" : "booked", "start_at": start, "end_at": end, "provider_ref": provider,
            "appointment_type": type, "slot_ref": slotRef,
        ])
    }
}

extension ReviewActions {
    /// The appointment as the agent last wrote it: the body of its last delivered FHIR
    /// write of the booking (the create, or a move's update). Nil when there is none to
    /// read (an HL7 v2 site, an outbox without the agent's items).
    public func agentWrittenAppointment(of booking: Booking) throws -> Appointment? {
        guard let write = try agentWrite(of: booking), write.transport == .fhir,
              let request = OutboxRequest.decode(write.request) else { return nil }
        return try? FHIRJSON.decode(Appointment.self, from: Data(request.body.utf8))
    }

    /// The agent's last delivered appointment write of the booking, on any pathway (a FHIR
    /// create or update, a REST booking or move, an SIU message).
    func agentWrite(of booking: Booking) throws -> OutboxItem? {
        guard let outbox else { return nil }
        return try outbox.items(forBooking: booking.bookingId).last { item in
            item.status == .succeeded && !item.isCorrection
                && (item.operation.hasPrefix("appointment.") || item.operation.hasPrefix("hl7.siu_"))
        }
    }
}
