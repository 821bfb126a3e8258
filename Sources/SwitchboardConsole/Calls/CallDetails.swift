import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// One call as the details panes tell it: who called and why, how it ended, the bookings
/// it made, and every step from the audit chain. The Calls screen shows it alone; the
/// Review screen shows it under the booking the call made.
enum CallDetails {
    /// `providers` names the providers of the bookings, when the EHR has told them.
    static func items(_ record: CallRecord, identity: OperatorIdentity, now: UnixMillis, time: TimeText, withBookings: Bool,
                      providers: ProviderDirectory? = nil) -> [DetailPane.Item] {
        let callId = record.callId
        var items: [DetailPane.Item] = [.heading("Call \(callId)")]
        if let call = record.call {
            items.append(.field("Caller", identity.callerNumber(call.caller)))
            if identity.seesPatientDetails, let patient = call.patientRef { items.append(.field("Patient", patient)) }
            items.append(.field("Intent", call.intent ?? "—"))
            items.append(.field("Started", time.timestamp(call.startedAt)))
            if let ended = call.endedAt {
                items.append(.field("Ended", "\(time.timestamp(ended))  (\(formatDuration(millis: ended - call.startedAt)))"))
                let resolved = call.firstCallResolved.map { $0 ? ", resolved on the first call" : ", not resolved on the first call" } ?? ""
                items.append(.field("Outcome", (call.outcome ?? "—") + resolved))
            } else {
                items.append(.field("Outcome", "in progress for \(formatDuration(millis: millisBetween(call.startedAt, now)))"))
            }
            if let summary = identity.freeText(call.summary) { items.append(.field("Summary", summary)) }
        } else {
            items.append(.text("No call row for \(callId)."))
        }
        if withBookings { items += bookings(record.bookings, identity: identity, time: time, providers: providers) }
        items.append(.blank)
        items.append(.heading("Steps (audit)"))
        let steps = record.steps
        if steps.isEmpty { items.append(.text("No audit rows for this call.")) }
        for step in steps { items.append(.field(time.clockWithSeconds(step.at), stepText(step, identity: identity))) }
        return items
    }

    /// `appointment.create  POST Appointment/ap-12  201  84 ms  success  try 2`
    static func stepText(_ step: AuditEvent, identity: OperatorIdentity) -> String {
        let status = step.httpStatus.map(String.init) ?? (step.transport == .hl7v2 ? "ACK" : "—")
        let latency = step.latencyMs.map { "\($0) ms" } ?? "—"
        let resource = identity.resourceReference(AuditPresentation.resource(step))
        let attempt = (step.attempt ?? 1) > 1 ? "  try \(step.attempt!)" : ""
        // What the EHR answered, when the agent kept it: an eligibility check's "in force" or "not in force".
        let object = step.detail.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
        let answer = (object?["answer"] as? String).map { "  \($0)" } ?? ""
        return "\(step.action)  \(step.method ?? "") \(resource)  \(status)  \(latency)  \(step.outcome.label)\(attempt)\(answer)"
    }

    private static func bookings(_ made: [Booking], identity: OperatorIdentity, time: TimeText, providers: ProviderDirectory?) -> [DetailPane.Item] {
        var items: [DetailPane.Item] = [.blank, .heading("Bookings")]
        if made.isEmpty { items.append(.text("This call made no booking.")) }
        for b in made {
            let patient = identity.patientName(b.patientDisplay)
            let what = "\(b.kind.rawValue) \(b.appointmentType ?? "") \(time.dayAndTime(b.startAt))  \(ProviderDirectory.shortName(of: b.providerRef, in: providers))"
            items.append(.field(b.bookingId, "\(what)  \(patient.isEmpty ? "—" : patient)  \(b.appointmentRef)\(b.reviewRequired ? "  (flagged for review)" : "")"))
        }
        return items
    }
}

/// One call as read for its details: its row, its audit steps and the bookings it made,
/// read together in the background.
struct CallRecord: Sendable, Equatable {
    var callId: String
    var call: Call?
    var steps: [AuditEvent]
    var bookings: [Booking]

    /// Reads inside the caller's snapshot, if any (`AuditStore.snapshot`).
    static func read(_ audit: AuditStore, callId: String) throws -> CallRecord {
        try audit.snapshot {
            CallRecord(callId: callId, call: try audit.call(id: callId), steps: try audit.steps(ofCall: callId),
                       bookings: try audit.bookings(ofCall: callId))
        }
    }
}
