import Foundation
import SwitchboardCore

/// One generated call as the agent would have lived it: the EHR requests it made (each
/// an audit row), the booking it left, the outbox items its writes queued, and how it
/// ended. Times are offsets from the call's start.
struct CallScript {
    struct Request {
        var offset: Int64
        var action: String
        var method: String
        var resourceType: String
        var resourceId: String?
        var outcome: AuditOutcome
        var httpStatus: Int?
        var latencyMs: Int
        var attempt: Int
        var detail: String
        /// A write queues an outbox item; retries of one write share it.
        var writeKey: String?
    }

    var workflow: Workflow
    var transport: Transport
    var requests: [Request] = []
    var booking: (kind: BookingKind, offset: Int64, flags: [ReviewFlag], appointment: String, provider: Roster.Provider,
                  type: (code: String, minutes: Int), startAt: UnixMillis)?
    var outcome: CallOutcome = .resolved
    var firstCallResolved = true
    var duration: Int64 = 0
    var summary = ""
}

/// Writes the steps of each workflow of the integration guide, with its edge cases at
/// go-live-like rates (EHR timeouts, unexpected status codes, full schedules, unknown
/// patients, wrong birth dates, dropped calls, two callers on one slot).
struct CallScriptWriter {
    var rng: SeededRandom

    mutating func script(callNumber n: Int, startedAt: UnixMillis, patient: Int) -> CallScript {
        let workflow = rng.weighted([
            (Workflow.newPatientBooking, 0.30), (.reschedule, 0.18), (.cancel, 0.10), (.insuranceCheck, 0.12),
            (.prescriptionRefill, 0.12), (.urgentTriage, 0.08), (.afterHours, 0.10),
        ])
        let transport = rng.weighted([(Transport.fhir, 0.88), (.rest, 0.07), (.hl7v2, 0.05)])
        var s = CallScript(workflow: workflow, transport: transport)
        var clock: Int64 = Int64.random(in: 4_000...15_000, using: &rng)  // greeting, intent
        let patientRef = "Patient/p\(patient)"
        var dropped = rng.chance(0.015)

        /// A read with its `detail`, or a write (`writing` its detail fields) that names its
        /// outbox item and idempotency key in the detail, as the agent's writes do.
        func request(_ action: String, _ method: String, _ type: String, _ id: String?, detail: String = "{}",
                     writing fields: [String: Any?]? = nil, allowFailure: Bool = true) -> Bool {
            let key = fields != nil ? "\(action):\(n):\(s.requests.count)" : nil
            let detail = fields.map { JSONText.object($0.merging(["outbox_item": "ob-\(key!)", "idempotency_key": key!]) { own, _ in own }) } ?? detail
            let write = key != nil
            var attempt = 1
            while true {
                let timeout = allowFailure && rng.chance(0.002)
                let unexpected = !timeout && allowFailure && rng.chance(0.0015)
                let latency = timeout ? 10_000 : Int(rng.logNormal(median: 115, p99: 480))
                let status: Int? = timeout ? nil : unexpected ? rng.weighted([(500, 0.6), (422, 0.2), (502, 0.2)])
                    : (write ? (method == "POST" ? 201 : 200) : 200)
                let outcome: AuditOutcome = timeout || unexpected ? .seriousFailure : .success
                s.requests.append(.init(offset: clock, action: action, method: method, resourceType: type, resourceId: id,
                                        outcome: outcome, httpStatus: transport == .hl7v2 && write ? nil : status,
                                        latencyMs: latency, attempt: attempt, detail: detail, writeKey: key))
                clock += Int64(latency) + Int64.random(in: 300...2_500, using: &rng)
                if outcome == .success { return true }
                if attempt == 3 { return false }
                attempt += 1
                clock += Int64(500 << attempt)  // backoff before the retry
            }
        }

        // Finding the patient: unknown patients and wrong birth dates are the usual misses.
        var lowIdentityMatch = false
        if workflow != .afterHours {
            let miss = rng.weighted([("found", 0.92), ("unknown", 0.05), ("wrong_dob", 0.03)])
            _ = request("patient.search", "GET", "Patient", nil, detail: #"{"by":"family,birthdate","matches":\#(miss == "found" ? 1 : 0)}"#)
            if miss != "found" { s.requests[s.requests.count - 1].outcome = .minorFailure }
            if miss == "wrong_dob" {
                _ = request("patient.search", "GET", "Patient", nil, detail: #"{"by":"phone","matches":1}"#)
                lowIdentityMatch = true
            } else if miss == "unknown" && workflow != .newPatientBooking {
                s.outcome = .transferred; s.firstCallResolved = false
                s.summary = "Caller not found in the EHR; transferred to the front desk."
                s.duration = clock + 20_000
                return s
            } else if miss == "unknown" {
                _ = request("patient.create", "POST", "Patient", patientRef, writing: ["new_patient": true])
            }
        }

        func book(kind: BookingKind) {
            let provider = Roster.providers[Int.random(in: 0..<Roster.providers.count, using: &rng)]
            let type = Roster.appointmentTypes[Int.random(in: 0..<Roster.appointmentTypes.count, using: &rng)]
            if kind != .cancel {
                _ = request("slot.search", "GET", "Slot", nil, detail: #"{"schedule":"\#(provider.id)","status":"free"}"#)
                if rng.chance(0.04) {
                    s.requests[s.requests.count - 1].outcome = .minorFailure
                    s.requests[s.requests.count - 1].detail = #"{"schedule":"\#(provider.id)","status":"free","free":0}"#
                    s.outcome = .callback; s.firstCallResolved = false
                    s.summary = "No free slots with \(provider.name) this week; callback offered."
                    return
                }
            } else {
                _ = request("appointment.search", "GET", "Appointment", nil, detail: #"{"patient":"\#(patientRef)"}"#)
            }
            let appointment = "Appointment/a\(n)"
            if kind == .book && rng.chance(0.01) {
                // Two callers, one slot: the EHR refuses the second booking; the agent picks the next slot.
                s.requests.append(.init(offset: clock, action: "appointment.create", method: "POST", resourceType: "Appointment",
                                        resourceId: nil, outcome: .minorFailure, httpStatus: 409, latencyMs: 140, attempt: 1,
                                        detail: #"{"conflict":"slot already booked"}"#, writeKey: nil))
                clock += 2_000
                _ = request("slot.search", "GET", "Slot", nil, detail: #"{"schedule":"\#(provider.id)","status":"free"}"#)
            }
            if dropped && rng.chance(0.5) {
                s.outcome = .dropped; s.firstCallResolved = false; s.summary = "Caller hung up before the booking was made."
                dropped = false
                return
            }
            let action = kind == .book ? "appointment.create" : "appointment.update"
            guard request(action, kind == .book ? "POST" : "PUT", "Appointment", appointment,
                          writing: ["kind": kind.rawValue]) else {
                s.outcome = .transferred; s.firstCallResolved = false
                s.summary = "The EHR kept failing; transferred with the request noted for staff."
                return
            }
            var flags: [ReviewFlag] = [.goLive]
            if workflow == .newPatientBooking { flags.append(.newPatient) }
            if lowIdentityMatch { flags.append(.lowIdentityMatch) }
            if rng.chance(0.01) { flags.append(.nearDuplicate) }
            if s.requests.contains(where: { $0.attempt > 1 }) { flags.append(.retried) }
            let day = Int64.random(in: 1...14, using: &rng)
            let slotMinute = Int64([8, 9, 10, 11, 13, 14, 15, 16, 18].randomElement(using: &rng)!) * 60
                + Int64([0, 15, 30, 45].randomElement(using: &rng)!)
            if slotMinute >= 18 * 60 { flags.append(.outOfHours) }
            s.booking = (kind, clock, flags, appointment, provider, type, day * 86_400_000 + slotMinute * 60_000)
            s.summary = "\(kind == .book ? "Booked" : kind == .reschedule ? "Rescheduled" : "Cancelled") \(type.code.lowercased()) with \(provider.name)."
        }

        switch workflow {
        case .newPatientBooking: book(kind: .book)
        case .reschedule: book(kind: .reschedule)
        case .cancel: book(kind: .cancel)
        case .insuranceCheck:
            _ = request("coverage.read", "GET", "Coverage", "Coverage/c\(patient)", detail: #"{"beneficiary":"\#(patientRef)"}"#)
            s.summary = "Insurance on file confirmed."
        case .prescriptionRefill:
            s.summary = "Refill request passed to the care team."
        case .urgentTriage:
            s.outcome = .transferred; s.firstCallResolved = false
            s.summary = "Urgent symptoms: transferred to the nurse line."
        case .afterHours:
            s.outcome = rng.chance(0.6) ? .callback : .resolved
            s.firstCallResolved = s.outcome == .resolved
            s.summary = s.outcome == .callback ? "After hours: callback booked for the morning." : "After hours: office hours given."
        }
        // Several actions in one call: a booking made after, say, a refill request.
        if s.booking == nil && s.outcome == .resolved && workflow != .afterHours && rng.chance(0.05) { book(kind: .book) }
        if dropped && s.outcome == .resolved {
            s.outcome = .dropped; s.firstCallResolved = false; s.summary += " Call dropped before goodbye."
        }
        if s.outcome != .dropped && workflow != .afterHours || s.outcome == .resolved {
            _ = request("communication.create", "POST", "Communication", "Communication/n\(n)",
                        writing: ["note": "call summary"], allowFailure: false)
        }
        s.duration = clock + Int64.random(in: 5_000...30_000, using: &rng)
        return s
    }
}
