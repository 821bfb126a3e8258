import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardStore

/// An appointment as the EHR has it now, read after it refused a correction (412).
public struct AppointmentNow: Sendable, Equatable {
    public var version: String
    public var status: String
    public var start: UnixMillis?
    public var end: UnixMillis?
    public var providerRef: String?
    public var appointmentType: String?
    /// The whole resource as read, which a correction against it starts from.
    public var resource: Appointment?

    public init(version: String, status: String, start: UnixMillis?, end: UnixMillis?, providerRef: String?, appointmentType: String?,
                resource: Appointment? = nil) {
        self.version = version; self.status = status; self.start = start; self.end = end
        self.providerRef = providerRef; self.appointmentType = appointmentType; self.resource = resource
    }
}

/// What the manager decides after seeing what changed in the EHR.
public enum SecondDecision: Sendable, Equatable {
    /// The appointment as it is now is right; the refused correction is dropped.
    case keepEHR
    /// Apply this correction to the appointment as it is now (If-Match on its new version).
    case reapply(Correction)
}

extension ReviewActions {
    /// Decides again after the EHR answered 412 to a correction: someone changed the
    /// appointment since the agent booked it. The refused change is never retried as it
    /// was; the manager has seen `current` and chooses. The first decision stays on
    /// record (one per booking); the audit chain records this one
    /// (`review.accept_ehr` or `review.recorrect`), and the refused item is discarded
    /// with the reason.
    public func decideAgain(bookingId: String, current: AppointmentNow, choice: SecondDecision, now: UnixMillis) throws -> ReviewOutcome {
        if let refusal = `operator`.reviewRefusal { return .notAllowed(refusal) }
        guard let outbox else { throw CorrectionError.noOutbox }
        guard var booking = try audit.booking(id: bookingId) else { return .noSuchBooking(bookingId) }
        guard let decision = try audit.decision(bookingId: bookingId) else {
            return .notAllowed("\(bookingId) has no decision yet; approve or correct it first.")
        }
        guard let refused = try refusedCorrection(bookingId: bookingId) else {
            return .notAllowed("\(bookingId): the EHR has not refused a correction, so there is nothing to decide again.")
        }
        let actor = "operator:\(`operator`.user)"
        switch choice {
        case .keepEHR:
            _ = try outbox.discard(id: refused.id, reason: "kept the EHR's version \(current.version) (\(`operator`.user))", now: now)
            try audit.append([AuditEvent(
                at: now, actor: actor, callId: booking.callId, action: "review.accept_ehr", resourceType: "Appointment",
                resourceId: booking.appointmentRef,
                detail: `operator`.auditDetail(["booking_id": bookingId, "version": current.version, "refused_item": refused.id]))])
        case .reapply(let correction):
            // The correction applies to the appointment as it is now, at its new version.
            booking.appointmentVersion = current.version
            if let start = current.start { booking.startAt = start }
            if let end = current.end { booking.endAt = end }
            booking.providerRef = current.providerRef ?? booking.providerRef
            booking.appointmentType = current.appointmentType ?? booking.appointmentType
            let nonce = ReviewActions.correctionNonce()
            let key = ReviewActions.correctionKey(bookingId: bookingId, operator: `operator`.user, now: now, nonce: nonce)
            let change = try CorrectionChange(booking: booking, correction: correction, base: current.resource,
                                              written: try agentWrite(of: booking), idempotencyKey: key, now: now)
            guard try outbox.enqueue([OutboxItem(
                id: "ob-correction-\(bookingId)-\(now)-\(nonce)", createdAt: now,
                callId: booking.callId, bookingId: bookingId, ehrSystem: refused.ehrSystem, transport: change.write.transport,
                operation: change.write.operation, request: change.request, idempotencyKey: key,
                updatedAt: now)]) == 1 else { throw CorrectionError.notQueued }
            _ = try outbox.discard(id: refused.id, reason: "decided again against version \(current.version)", now: now)
            try audit.append([AuditEvent(
                at: now, actor: actor, callId: booking.callId, action: "review.recorrect", resourceType: "Appointment",
                resourceId: booking.appointmentRef,
                detail: `operator`.auditDetail(["booking_id": bookingId, "version": current.version, "category": correction.category.rawValue,
                                         "refused_item": refused.id]))])
        }
        return .recorded(decision)
    }
}

extension ReviewActions {
    /// The booking's correction the EHR refused (412), waiting for a new decision; nil if
    /// there is none.
    public func refusedCorrection(bookingId: String) throws -> OutboxItem? {
        try correctionStatus(bookingId: bookingId).flatMap { CorrectionProgress($0).needsNewDecision ? $0 : nil }
    }

    /// What changed in the EHR since the agent's write, one line per field, for deciding
    /// again without the screen (`switchboard review again`).
    public func describeChanges(bookingId: String, current: AppointmentNow) throws -> [String] {
        guard let booking = try audit.booking(id: bookingId) else { return [] }
        let time = TimeText()
        return current.differences(from: booking, timestamp: time.timestamp, provider: { $0 ?? "—" }).map { row in
            row.then == row.now ? "\(row.label): \(row.now) (unchanged)" : "\(row.label): \(row.then) → \(row.now) CHANGED"
        }
    }
}

extension AppointmentNow {
    /// The appointment field by field: as the agent booked it, and as the EHR has it now.
    /// The Review screen and `switchboard review again` show the same rows.
    public func differences(from b: Booking, timestamp: (UnixMillis) -> String, provider: (String?) -> String)
        -> [(label: String, then: String, now: String)] {
        func time(_ t: UnixMillis?) -> String { t.map(timestamp) ?? "—" }
        return [
            ("Version", b.appointmentVersion ?? "?", version),
            ("Status", b.kind == .cancel ? "cancelled" : "booked", status),
            ("Start", time(b.startAt), time(start)),
            ("End", time(b.endAt), time(end)),
            ("Provider", provider(b.providerRef), provider(providerRef)),
            ("Type", b.appointmentType ?? "—", appointmentType ?? "—"),
        ]
    }
}
