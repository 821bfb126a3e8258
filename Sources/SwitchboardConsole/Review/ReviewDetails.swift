import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The details of one booking: what the agent booked, why it was flagged, the decision
/// if any, and the call that made it, step by step from the audit chain.
enum ReviewDetails {
    static func pane(for item: ReviewItem, call: CallRecord?, presentation p: ReviewPresentation) -> DetailPane {
        let b = item.booking
        var items: [DetailPane.Item] = [
            .heading("Booking \(b.bookingId)"),
            .field("Kind", b.kind.rawValue),
            .field("Patient", p.patient(b.patientDisplay) + (p.identity.seesPatientDetails ? "  (\(b.patientRef ?? "—"))" : "")),
            .field("Provider", p.provider(b.providerRef)),
            .field("Type", b.appointmentType ?? "—"),
            .field("Appointment", "\(p.timestamp(b.startAt)) – \(p.clock(b.endAt))  \(b.appointmentRef) v\(b.appointmentVersion ?? "?")"),
            .field("Booked", "\(p.timestamp(b.bookedAt))  (\(formatDuration(millis: millisBetween(b.bookedAt, p.now))) ago)"),
            .field("Flagged", b.flagLabels.joined(separator: ", ")),
        ] + (p.pitfalls[b.bookingId] ?? []).map { .field("Look at", "\($0.flag.label): \($0.why)") }
        if let d = item.decision {
            items.append(.field("Decision", "\(d.decision.rawValue) by \(d.operator) at \(p.timestamp(d.decidedAt))"))
            if let category = d.category { items.append(.field("Category", CorrectionCategory(rawValue: category)?.label ?? category)) }
            if let note = d.note { items.append(.field("Note", note)) }
            if let progress = p.correctionDetails[b.bookingId] { items.append(.field("EHR change", progress)) }
        } else {
            items.append(.field("Decision", p.isOverdue(item) ? "undecided — OVERDUE" : "undecided"))
        }
        items.append(.blank)
        guard let call else { return DetailPane(items: items) }
        items += CallDetails.items(call, identity: p.identity, now: p.now, time: p.time, withBookings: false)
        return DetailPane(items: items)
    }

    /// What the second reviewer is told: who decided, what and when.
    /// `booking` names it as messages do (`Ann Lee's booking (Tue 01 14:05)`).
    static func alreadyDecided(_ d: ReviewDecision, booking: String, time: TimeText) -> String {
        "\(booking.prefix(1).uppercased() + booking.dropFirst()) was already \(d.decision.rawValue) by \(d.operator) at \(time.timestamp(d.decidedAt))."
    }

    /// A booking as messages name it: the patient as this operator may see them (never a
    /// booking id), what kind, and when (`Ann Lee's booking (Tue 01 14:05)`).
    static func name(of item: ReviewItem, identity: OperatorIdentity, time: TimeText) -> String {
        let patient = identity.patientName(item.booking.patientDisplay)
        let what = [BookingKind.book: "booking", .reschedule: "move", .cancel: "cancellation"][item.booking.kind] ?? "booking"
        return "\(patient.isEmpty ? "a patient" : patient)'s \(what) (\(time.dayAndTime(item.booking.startAt)))"
    }
}
