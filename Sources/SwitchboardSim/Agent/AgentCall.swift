import Foundation
import SwitchboardCore
import SwitchboardEHR

/// What a call will be: the caller, why they call, and what goes wrong.
struct CallPlan: Sendable {
    enum Quirk: Sendable {
        /// Not a patient of the practice.
        case stranger
        /// Gives a wrong date of birth; found by phone instead.
        case wrongBirthDate
        /// Asks for a day with no free slot.
        case fullSchedule
        /// Hangs up after the booking went in, before the goodbye.
        case dropped
        /// Calls from a phone the EHR does not have on file.
        case unknownPhone
        /// New to the practice: not in the EHR until the agent registers them.
        case unregistered
        /// Has a new phone number, which the agent updates in the EHR.
        case newPhone
        /// Hangs up once a slot is chosen, before the booking is written.
        case droppedBeforeWrite
        /// Hangs up while the booking is being written.
        case droppedDuringWrite
    }

    var callID: String
    var workflow: Workflow
    var caller: Caller
    var quirk: Quirk?
    /// Several actions in one call: this one first.
    var firstAlso: Workflow?
    /// Set on both calls of a pair deliberately racing for one slot.
    var contestedProvider: Int?
}

/// Why a call could not go on.
private struct CallEnds: Error {
    var outcome: CallOutcome
    var summary: String
}

/// One call's running record.
private final class CallRecord: @unchecked Sendable {
    let plan: CallPlan
    let startedAt: UnixMillis
    var patientRef: String?
    var lowIdentityMatch = false
    var ambiguousMatch = false
    var retried = false
    var queued = false
    var summary: [String] = []
    var bookings = 0
    var writes = 0

    init(plan: CallPlan, startedAt: UnixMillis) { self.plan = plan; self.startedAt = startedAt }
    var id: String { plan.callID }
}

extension Agent {
    /// Chooses the next call (two, when a pair races for one slot).
    func plan(callNumber n: Int) -> [CallPlan] {
        random { rng -> [CallPlan] in
            var workflow = rng.weighted([
                (Workflow.newPatientBooking, 0.26), (.reschedule, 0.16), (.cancel, 0.10), (.insuranceCheck, 0.12),
                (.prescriptionRefill, 0.12), (.urgentTriage, 0.10), (.afterHours, 0.14),
            ])
            var quirk: CallPlan.Quirk? = rng.weighted([
                (nil, 0.73), (.stranger, 0.04), (.wrongBirthDate, 0.06), (.fullSchedule, 0.05), (.dropped, 0.05),
                (.droppedBeforeWrite, 0.02), (.droppedDuringWrite, 0.02), (.newPhone, 0.03),
            ])
            let regulars = practice.callers.prefix(300)
            var caller = rng.chance(0.5) ? regulars.randomElement(using: &rng)! : practice.callers.randomElement(using: &rng)!
            if workflow == .newPatientBooking, quirk == nil, rng.chance(0.25) {
                // Really new to the practice: someone the EHR has never seen.
                quirk = .unregistered
                caller = Self.newcomer(n, using: &rng)
            }
            if workflow == .reschedule || workflow == .cancel {
                let booked = practice.patientsWithAppointments()
                if let patient = booked.randomElement(using: &rng), let known = practice.callers.first(where: { ehrPatientID($0) == patient }) {
                    caller = known
                } else {
                    workflow = .newPatientBooking
                }
            }
            var firstAlso: Workflow? = rng.chance(0.08) ? [.insuranceCheck, .prescriptionRefill].randomElement(using: &rng) : nil
            // Two scheduling actions: a patient who has an appointment moves it and books another.
            if firstAlso == nil, workflow == .newPatientBooking, rng.chance(0.3),
               practice.patientsWithAppointments().contains(ehrPatientID(caller)) {
                firstAlso = .reschedule
            }
            let id = "c-\(String(Clock.nowMillis(), radix: 36))-\(n)"
            var plan = CallPlan(callID: id, workflow: workflow, caller: caller, quirk: quirk, firstAlso: firstAlso)
            guard workflow == .newPatientBooking, quirk == nil, rng.chance(0.05), !practice.providers.isEmpty else { return [plan] }
            // Two callers, one slot: both see the same first free slot and book it at once.
            plan.contestedProvider = Int.random(in: 0 ..< practice.providers.count, using: &rng)
            plan.firstAlso = nil
            var twin = plan
            twin.callID = id + "b"
            twin.caller = practice.callers.randomElement(using: &rng)!
            return [plan, twin]
        }
    }

    func runCall(_ plan: CallPlan) async {
        let call = CallRecord(plan: plan, startedAt: Clock.nowMillis())
        let caller = Roster.maskedCaller(abs(plan.caller.patientID.hashValue % 100_000))
        try? await ledger.record(calls: [Call(callId: call.id, startedAt: call.startedAt, caller: caller, intent: plan.workflow.rawValue)])
        hub.publish(.callStarted(.init(callId: call.id, at: call.startedAt, caller: caller, intent: plan.workflow.rawValue)))
        var outcome = CallOutcome.resolved
        do {
            try await talk(4 ... 12)
            outcome = try await converse(call)
        } catch let ends as CallEnds {
            outcome = ends.outcome
            call.summary.append(ends.summary)
        } catch {
            outcome = .dropped
            call.summary.append(Task.isCancelled ? "The simulator stopped during the call." : "Call lost: \(error).")
        }
        if outcome != .dropped && !Task.isCancelled { await writeNote(call, outcome: outcome) }
        let ended = Clock.nowMillis()
        let summary = call.summary.joined(separator: " ")
        try? await ledger.record(calls: [Call(callId: call.id, startedAt: call.startedAt, endedAt: ended, caller: caller,
                                              patientRef: call.patientRef, intent: plan.workflow.rawValue, outcome: outcome.rawValue,
                                              firstCallResolved: outcome == .resolved, summary: summary)])
        hub.publish(.callEnded(.init(callId: call.id, at: ended, outcome: outcome.rawValue, firstCallResolved: outcome == .resolved)))
    }

    /// The warm-up's calls talk faster than the live ones (see `warmUpCalls`).
    @TaskLocal static var talkScale = 1.0

    /// The talking between steps.
    private func talk(_ seconds: ClosedRange<Double>) async throws {
        let pause = random { Double.random(in: seconds, using: &$0) } * configuration.talkScale * Self.talkScale
        try await Task.sleep(for: .milliseconds(Int(pause * 1000)))
    }

    private func converse(_ call: CallRecord) async throws -> CallOutcome {
        let plan = call.plan
        if plan.workflow == .afterHours {
            call.summary.append("After hours.")
            guard random({ $0.chance(0.4) }) else {
                call.summary.append("Office hours given; callback requested for the morning.")
                try await identify(call)
                return .callback
            }
        }
        try await identify(call)
        if let first = plan.firstAlso { _ = try await act(first, call) }
        return try await act(plan.workflow, call)
    }

    private func act(_ workflow: Workflow, _ call: CallRecord) async throws -> CallOutcome {
        switch workflow {
        case .newPatientBooking, .afterHours: return try await book(call)
        case .reschedule: return try await move(call, cancel: false)
        case .cancel: return try await move(call, cancel: true)
        case .insuranceCheck: return try await checkCoverage(call)
        case .prescriptionRefill:
            return try await requestRefill(call)
        case .urgentTriage:
            call.summary.append("Urgent symptoms: transferred to the nurse line.")
            return .transferred
        }
    }

    // MARK: Steps

    private func step(_ call: CallRecord, _ step: String, _ action: String, _ detail: [String: String] = [:]) -> StepContext {
        StepContext(callID: call.id, step: step, action: action, attempt: 1, detail: detail)
    }

    /// Finds the caller in the EHR by family name and birth date (by phone after a wrong
    /// birth date); in queue mode, only patients the agent found before are known.
    private func identify(_ call: CallRecord) async throws {
        let plan = call.plan, caller = plan.caller
        if link.isQueueing {
            guard plan.quirk != .stranger, practice.hasFound(patient: caller.patientID) else {
                throw CallEnds(outcome: .callback, summary: "The EHR is unreachable and the caller is not known to the agent; callback taken.")
            }
            call.patientRef = "Patient/\(ehrPatientID(caller))"
            return
        }
        let family = plan.quirk == .stranger ? "Zzyzx-\(plan.callID.suffix(4))" : caller.family
        let birth = plan.quirk == .wrongBirthDate ? Self.shift(birthDate: caller.birthDate) : caller.birthDate
        let found = try await read(step(call, "lookup", "patient.search", ["by": "family,birthdate"]), isMiss: { $0.isEmpty }) { ehr async throws(FHIRError) in
            try await ehr.patients(family: family, birthDate: birth)
        }
        let ehrID = ehrPatientID(caller)
        let candidates = try ehrAnswer(found)
        var match = candidates.first
        if candidates.count > 1 {
            // Namesakes: the phone on file decides. If it does not, the caller confirms their
            // address and the booking is flagged for staff to verify, never a guess.
            let phone = plan.quirk == .unknownPhone ? "555-000-0000" : caller.phone
            let byPhone = candidates.filter { phoneKey($0.phone ?? "") == phoneKey(phone) }
            if byPhone.count == 1 {
                match = byPhone[0]
            } else {
                match = candidates.first { $0.id == ehrID }
                call.ambiguousMatch = true
                call.summary.append("Several patients share the caller's name and birth date; confirmed by address, flagged for review.")
                guard match != nil else {
                    throw CallEnds(outcome: .transferred, summary: "Several patients match and none could be confirmed; transferred to the front desk.")
                }
            }
        }
        if match == nil && plan.quirk == .wrongBirthDate {
            try await talk(3 ... 8)
            let byPhone = try await read(step(call, "lookup", "patient.search", ["by": "phone"]), isMiss: { $0.isEmpty }) { ehr async throws(FHIRError) in
                try await ehr.patients(phone: caller.phone)
            }
            match = try ehrAnswer(byPhone).first { $0.id == ehrID }
            call.lowIdentityMatch = match != nil
        }
        if match == nil && plan.quirk == .unregistered {
            try await register(call)
            return
        }
        guard let id = match?.id else {
            throw CallEnds(outcome: .transferred, summary: "Caller not found in the EHR; transferred to the front desk.")
        }
        if plan.quirk == .newPhone, let found = match { try await updatePhone(call, found) }
        practice.remember(patient: caller.patientID)
        call.patientRef = "Patient/\(id)"
    }

    /// Someone new to the practice, with a name no patient has yet.
    static func newcomer(_ n: Int, using rng: inout SeededRandom) -> Caller {
        let first = ["Quillon", "Marisol", "Tavish", "Ingrid", "Oluwaseun", "Noemí", "Kenji", "Anaïs"]
        let family = ["Brightwater", "Fairweather", "Ravensworth", "Thistlewood", "Underhill", "Winterbourne"]
        let year = Int.random(in: 1940 ... 2020, using: &rng), month = Int.random(in: 1 ... 12, using: &rng)
        let day = Int.random(in: 1 ... 28, using: &rng)
        return Caller(patientID: "", family: "\(family.randomElement(using: &rng)!)-\(family.randomElement(using: &rng)!)",
                      given: first.randomElement(using: &rng)!, birthDate: String(format: "%04d-%02d-%02d", year, month, day),
                      phone: String(format: "555-%03d-%04d", Int.random(in: 100 ... 999, using: &rng), n % 10000))
    }

    /// A new patient registered on the site's pathway (POST Patient with If-None-Exist,
    /// the REST registration, or ADT^A04), through the outbox like every write.
    private func register(_ call: CallRecord) async throws {
        let caller = call.plan.caller
        let key = "\(call.id):register"
        let order: WriteOrder
        switch configuration.transport {
        case .fhir:
            let patient = Patient(identifier: [Identifier(system: "urn:switchboard:caller", value: call.id)], active: true,
                                  name: [HumanName(use: .official, family: caller.family, given: [caller.given])],
                                  telecom: [ContactPoint(system: .phone, value: caller.phone, use: .mobile)], birthDate: caller.birthDate)
            order = WriteOrder(operation: "patient.create",
                               request: OutboxRequest(method: "POST", url: "Patient",
                                                      headers: ["If-None-Exist": "identifier=urn:switchboard:caller|\(call.id)", "Idempotency-Key": key],
                                                      body: Self.json(patient)),
                               callID: call.id, bookingID: nil, idempotencyKey: key, transport: .fhir)
        case .rest:
            order = WriteOrder(operation: "patient.create",
                               request: RESTRequests.register(firstName: caller.given, lastName: caller.family, birthDate: caller.birthDate,
                                                              phone: caller.phone, idempotencyKey: key),
                               callID: call.id, bookingID: nil, idempotencyKey: key, transport: .rest)
        case .hl7v2:
            // The agent assigns the medical record number it sends in PID-3.
            let adt = ADTRegistration(event: .register, patient: HL7Patient(id: "p-\(call.id)", family: caller.family, given: caller.given,
                                                                             birthDate: caller.birthDate, phone: caller.phone))
            order = hl7Order(adt.message(controlID: "\(call.id)-A04", at: Clock.nowMillis(), endpoints: Self.hl7Endpoints),
                             operation: "hl7.adt_a04", call: call, key: key)
        }
        switch try await send(order) {
        case .delivered(let patient?, _):
            call.patientRef = patient.ref
            call.summary.append("New patient registered.")
        case .delivered(nil, _), .queued:
            throw CallEnds(outcome: .callback, summary: "New patient details taken; the EHR has not confirmed the registration yet, so the office will call back to book.")
        case .refused(let error, _, _):
            throw CallEnds(outcome: .transferred, summary: "The EHR refused the registration (\(error)); transferred to staff.")
        }
    }

    /// The caller's new phone number in the EHR: PUT Patient with If-Match, the REST update,
    /// or ADT^A08. A refusal is noted; the call goes on.
    private func updatePhone(_ call: CallRecord, _ found: Patient) async throws {
        guard let id = found.id else { return }
        let phone = String(format: "555-%03d-%04d", random { Int.random(in: 100 ... 999, using: &$0) }, abs(call.id.hashValue) % 10000)
        let key = "\(call.id):demographics"
        let order: WriteOrder
        switch configuration.transport {
        case .fhir:
            var patient = found
            patient.meta = nil
            patient.telecom = [ContactPoint(system: .phone, value: phone, use: .mobile)]
            order = WriteOrder(operation: "patient.update",
                               request: OutboxRequest(method: "PUT", url: "Patient/\(id)",
                                                      headers: ["If-Match": "W/\"\(found.meta?.versionId ?? "1")\"", "Idempotency-Key": key],
                                                      body: Self.json(patient)),
                               callID: call.id, bookingID: nil, idempotencyKey: key, transport: .fhir)
        case .rest:
            order = WriteOrder(operation: "patient.update", request: RESTRequests.updatePhone(patientID: id, phone: phone, idempotencyKey: key),
                               callID: call.id, bookingID: nil, idempotencyKey: key, transport: .rest)
        case .hl7v2:
            let name = found.name?.first
            let adt = ADTRegistration(event: .update, patient: HL7Patient(id: id, family: name?.family ?? "", given: name?.given?.first ?? "",
                                                                           birthDate: found.birthDate, phone: phone))
            order = hl7Order(adt.message(controlID: "\(call.id)-A08", at: Clock.nowMillis(), endpoints: Self.hl7Endpoints),
                             operation: "hl7.adt_a08", call: call, key: key)
        }
        if case .refused = try await send(order) {
            call.summary.append("The EHR refused the new phone number; staff will update it.")
        } else {
            call.summary.append("Phone number updated.")
        }
    }

    /// The refill request as a task for the care team: FHIR `POST Task` (HL7 v2 sites too,
    /// whose interface engine takes FHIR for what is not scheduling), or on a REST site the
    /// vendor's equivalent, a chart note in the refill category. Through the outbox.
    private func requestRefill(_ call: CallRecord) async throws -> CallOutcome {
        let key = "\(call.id):refill"
        let text = "Prescription refill requested by phone."
        let order: WriteOrder
        if configuration.transport == .rest {
            order = WriteOrder(operation: "task.create",
                               request: RESTRequests.note(patientID: call.patientRef.map { String($0.split(separator: "/").last ?? "") },
                                                          category: "refill request", text: text, externalID: key, idempotencyKey: key),
                               callID: call.id, bookingID: nil, idempotencyKey: key, transport: .rest)
        } else {
            let task = FHIRTask(identifier: [Identifier(system: "urn:switchboard:call", value: key)], status: "requested", intent: "order",
                                priority: "routine", code: CodeableConcept(text: "prescription refill"), description: text,
                                for: call.patientRef.map { Reference($0) }, authoredOn: FHIRInstant(millis: Clock.nowMillis()).text)
            order = WriteOrder(operation: "task.create",
                               request: OutboxRequest(method: "POST", url: "Task", headers: ["Idempotency-Key": key], body: Self.json(task)),
                               callID: call.id, bookingID: nil, idempotencyKey: key, transport: .fhir)
        }
        if case .refused(let error, _, _) = try await send(order) {
            call.summary.append("The EHR refused the refill request (\(error)); staff will enter it.")
            return .transferred
        }
        call.summary.append("Refill request passed to the care team.")
        return .resolved
    }

    static let hl7Endpoints = HL7Endpoints(sendingApplication: "SWITCHBOARD", sendingFacility: "AGENT",
                                           receivingApplication: "EHR", receivingFacility: "PRACTICE")

    private func hl7Order(_ message: HL7Message, operation: String, call: CallRecord, key: String) -> WriteOrder {
        WriteOrder(operation: operation,
                   request: OutboxRequest(method: "\(message.type.code)^\(message.type.event)", url: "mllp://127.0.0.1:\(mllp?.port ?? 0)",
                                          headers: ["Idempotency-Key": key], body: message.encoded()),
                   callID: call.id, bookingID: nil, idempotencyKey: key, transport: .hl7v2)
    }

    /// The value of a read, or the end of the call when the EHR would not answer.
    private func ehrAnswer<T>(_ result: Result<T, FHIRError>) throws -> T {
        switch result {
        case .success(let value): return value
        case .failure(let error) where error.isRetryable:
            throw CallEnds(outcome: .callback, summary: "The EHR did not answer (\(error)); callback offered.")
        case .failure(let error):
            throw CallEnds(outcome: .transferred, summary: "The EHR refused a request (\(error)); transferred to staff.")
        }
    }

    private func book(_ call: CallRecord, secondTry: Bool = false) async throws -> CallOutcome {
        guard let patientRef = call.patientRef, !practice.providers.isEmpty else { return .transferred }
        let plan = call.plan
        let providerIndex = plan.contestedProvider ?? random { Int.random(in: 0 ..< practice.providers.count, using: &$0) }
        let provider = practice.providers[providerIndex]
        guard let slot = try await findSlot(call, provider: provider, contested: plan.contestedProvider != nil && !secondTry) else {
            throw CallEnds(outcome: .callback, summary: "No free slot with \(provider.display) on the day asked for; callback offered.")
        }
        if plan.contestedProvider != nil && !secondTry {
            // Both callers of the pair see the slot free before either books it: the race the
            // guide names, not two bookings one after the other.
            let pair = String(plan.callID.hasSuffix("b") ? plan.callID.dropLast() : Substring(plan.callID))
            racers.withLock { $0[pair, default: 0] += 1 }
            for _ in 0 ..< 500 where racers.withLock({ $0[pair] ?? 0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        try await talk(5 ... 15)
        let bookingID = "b-\(call.id)-\(call.bookings)"
        call.bookings += 1
        let order: WriteOrder
        if configuration.transport == .hl7v2 {
            order = siuOrder(.new, call: call, bookingID: bookingID, placer: bookingID, filler: nil, slot: slot, provider: provider)
        } else if configuration.transport == .rest {
            let key = bookingID + ":create"
            order = WriteOrder(operation: "appointment.create",
                               request: RESTRequests.book(slotID: slot.id, patientID: String(patientRef.split(separator: "/").last ?? ""),
                                                          appointmentType: slot.appointmentType, externalID: bookingID, idempotencyKey: key),
                               callID: call.id, bookingID: bookingID, idempotencyKey: key, transport: .rest)
        } else {
            let appointment = Appointment(
                identifier: [Identifier(system: "urn:switchboard:booking", value: bookingID)], status: .booked,
                appointmentType: slot.appointmentType.map { CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: $0)]) },
                description: "Booked by the phone agent", start: FHIRInstant(millis: slot.start), end: FHIRInstant(millis: slot.end),
                slot: [Reference("Slot/\(slot.id)")], created: FHIRInstant(millis: Clock.nowMillis()).text,
                participant: [AppointmentParticipant(actor: Reference(patientRef), status: .accepted),
                              AppointmentParticipant(actor: Reference(provider.practitionerRef), status: .accepted)])
            order = WriteOrder(operation: "appointment.create",
                               request: OutboxRequest(method: "POST", url: "Appointment",
                                                      headers: ["If-None-Exist": "identifier=urn:switchboard:booking|\(bookingID)",
                                                                "Idempotency-Key": bookingID + ":create"],
                                                      body: Self.json(appointment)),
                               callID: call.id, bookingID: bookingID, idempotencyKey: bookingID + ":create", transport: .fhir)
        }
        if plan.quirk == .droppedBeforeWrite {
            // Nothing was written: the slot goes back, no item, no booking.
            practice.release(slot: slot.id)
            throw CallEnds(outcome: .dropped, summary: "The caller hung up before the booking was made; nothing was booked.")
        }
        let outcome = try await send(order, handOff: plan.quirk == .droppedDuringWrite)
        switch outcome {
        case .refused(let error, let status, let itemID):
            practice.release(slot: slot.id)
            practice.settle(slot: slot.id)
            if status == 409 || error.contains("205"), !secondTry {
                // Someone else took the slot a moment ago: say so, and offer the next one.
                _ = try? await ledger.withOutbox { try $0.discard(id: itemID, reason: "slot taken by another booking; offered the next slot", now: Clock.nowMillis()) }
                call.summary.append("The slot was taken while we spoke; offered the next one.")
                return try await book(call, secondTry: true)
            }
            throw CallEnds(outcome: .transferred, summary: "The EHR refused the booking (\(error)); transferred to staff.")
        case .delivered(let appointment, let retried):
            call.retried = call.retried || retried
            try await recordBooking(call, bookingID: bookingID, kind: .book, ref: appointment?.ref ?? Self.pendingRef(bookingID),
                                    version: appointment?.version, slot: slot, provider: provider, queued: false)
        case .queued(let retried):
            call.retried = call.retried || retried
            try await recordBooking(call, bookingID: bookingID, kind: .book, ref: Self.pendingRef(bookingID), version: nil,
                                    slot: slot, provider: provider, queued: true)
        }
        if call.plan.quirk == .droppedDuringWrite {
            // The booking is on record (pending) with its item; the drain worker finishes it.
            throw CallEnds(outcome: .dropped, summary: "The caller hung up while the booking was being sent; it will be confirmed by text.")
        }
        if call.plan.quirk == .dropped {
            throw CallEnds(outcome: .dropped, summary: "Booked; the caller hung up before the confirmation was read back.")
        }
        return .resolved
    }

    /// A free slot held for this call: from a search, or in queue mode from the last one seen.
    private func findSlot(_ call: CallRecord, provider: Practice.Provider, contested: Bool) async throws -> SlotSeen? {
        let pick = contested ? 0 : random { Int.random(in: 0 ..< 5, using: &$0) }
        if link.isQueueing { return practice.holdCached(schedule: provider.scheduleRef, pick: pick) }
        let today = Clock.nowMillis() / 86_400_000 * 86_400_000
        // The two callers of a racing pair ask for the same day, so they see the same first slot.
        var from = today + 86_400_000 * (contested ? 2 : random { Int64.random(in: 1 ... 6, using: &$0) })
        if call.plan.quirk == .fullSchedule {
            // The caller insists on a Sunday: no clinic hours, so no free slot.
            while ((from / 86_400_000) + 3) % 7 != 6 { from += 86_400_000 }
        }
        let start = from, end = from + (call.plan.quirk == .fullSchedule ? 86_400_000 : 3 * 86_400_000)
        let schedule = provider.scheduleRef
        let found = try await read(step(call, "slots", "slot.search", ["schedule": schedule]), isMiss: { $0.isEmpty }) { ehr async throws(FHIRError) in
            try await ehr.freeSlots(schedule: schedule, from: start, to: end)
        }
        let slots = try ehrAnswer(found)
        if call.plan.quirk != .fullSchedule { practice.saw(free: slots, schedule: schedule) }
        if contested { return slots.first }
        return practice.hold(from: slots, pick: pick)
    }

    private func move(_ call: CallRecord, cancel: Bool) async throws -> CallOutcome {
        guard let patientRef = call.patientRef else { return .transferred }
        if link.isQueueing {
            throw CallEnds(outcome: .callback, summary: "The EHR is unreachable; the request to \(cancel ? "cancel" : "reschedule") was noted for a callback.")
        }
        let found = try await read(step(call, "lookup", "appointment.search", ["by": "patient,status"]), isMiss: { $0.isEmpty }) { ehr async throws(FHIRError) in
            try await ehr.bookedAppointments(patient: patientRef)
        }
        guard let current = try ehrAnswer(found).first, let id = current.id, let version = current.meta?.versionId else {
            call.summary.append("No upcoming appointment found; offered a new booking.")
            return try await book(call)
        }
        let provider = practice.providers.first { $0.practitionerRef == current.actor(ofType: "Practitioner")?.reference } ?? practice.providers[0]
        var changed = current
        changed.meta = nil
        var newSlot: SlotSeen?
        if cancel {
            changed.status = .cancelled
            changed.cancelationReason = CodeableConcept(text: "patient request by phone")
        } else {
            guard let slot = try await findSlot(call, provider: provider, contested: false) else {
                throw CallEnds(outcome: .callback, summary: "No other free slot with \(provider.display); callback offered.")
            }
            newSlot = slot
            changed.slot = [Reference("Slot/\(slot.id)")]
            changed.start = FHIRInstant(millis: slot.start)
            changed.end = FHIRInstant(millis: slot.end)
        }
        try await talk(4 ... 10)
        let bookingID = "b-\(call.id)-\(call.bookings)"
        call.bookings += 1
        let operation = cancel ? "cancel" : "reschedule"
        let order: WriteOrder
        let oldSlot = SlotSeen(id: current.slot?.first?.id ?? "", scheduleID: provider.scheduleRef, start: current.start?.millis ?? 0,
                               end: current.end?.millis ?? 0, appointmentType: current.appointmentType?.code)
        if configuration.transport == .hl7v2 {
            let placer = current.identifier?.first?.value ?? id
            order = siuOrder(cancel ? .cancel : .reschedule, call: call, bookingID: bookingID, placer: placer, filler: id,
                             slot: newSlot ?? oldSlot, provider: provider)
        } else if configuration.transport == .rest {
            let key = "\(bookingID):\(operation)"
            let request = cancel
                ? RESTRequests.cancel(appointmentID: id, version: version, reason: "patient request by phone", idempotencyKey: key)
                : RESTRequests.reschedule(appointmentID: id, newSlotID: newSlot?.id ?? "", version: version, idempotencyKey: key)
            order = WriteOrder(operation: "appointment.update", request: request, callID: call.id, bookingID: bookingID,
                               idempotencyKey: key, transport: .rest)
        } else {
            order = WriteOrder(operation: "appointment.update",
                               request: OutboxRequest(method: "PUT", url: "Appointment/\(id)",
                                                      headers: ["If-Match": "W/\"\(version)\"", "Idempotency-Key": "\(bookingID):\(operation)"],
                                                      body: Self.json(changed)),
                               callID: call.id, bookingID: bookingID, idempotencyKey: "\(bookingID):\(operation)", transport: .fhir)
        }
        let kind: BookingKind = cancel ? .cancel : .reschedule
        switch try await send(order) {
        case .refused(let error, _, _):
            if let newSlot { practice.release(slot: newSlot.id) }
            throw CallEnds(outcome: .transferred, summary: "The EHR refused the change (\(error)); transferred to staff.")
        case .delivered(let appointment, let retried):
            call.retried = call.retried || retried
            try await recordBooking(call, bookingID: bookingID, kind: kind, ref: "Appointment/\(id)", version: appointment?.version,
                                    slot: newSlot ?? oldSlot, provider: provider, queued: false)
        case .queued(let retried):
            call.retried = call.retried || retried
            try await recordBooking(call, bookingID: bookingID, kind: kind, ref: "Appointment/\(id)", version: nil,
                                    slot: newSlot ?? oldSlot, provider: provider, queued: true)
        }
        practice.forget(appointment: id, patient: String(patientRef.split(separator: "/").last ?? ""))
        if let newSlot {
            practice.booked(AppointmentSeen(id: id, patientID: String(patientRef.split(separator: "/").last ?? ""), slotID: newSlot.id, start: newSlot.start))
        }
        return call.plan.quirk == .dropped ? .dropped : .resolved
    }

    private func checkCoverage(_ call: CallRecord) async throws -> CallOutcome {
        guard let patientRef = call.patientRef else { return .transferred }
        if link.isQueueing {
            throw CallEnds(outcome: .callback, summary: "The EHR is unreachable; insurance will be confirmed by callback.")
        }
        let found = try await read(step(call, "coverage", "coverage.read", ["by": "beneficiary"]), isMiss: { $0.isEmpty }) { ehr async throws(FHIRError) in
            try await ehr.coverage(patient: patientRef)
        }
        let coverage = try ehrAnswer(found)
        guard let onFile = coverage.first(where: { $0.status == .active }) ?? coverage.first else {
            call.summary.append("No insurance on file; billing will call back.")
            return .callback
        }
        let payer = onFile.payor.first?.display ?? "payor"
        if ehr.rest == nil {
            // FHIR: the Coverage on file says who pays; the payer's eligibility answer says
            // whether it is in force today.
            let asked = try await read(step(call, "eligibility", "coverage.eligibility", ["purpose": "validation"]),
                                       answer: { $0.map { $0.isInForce ? "in force" : "not in force" } ?? "" }) { ehr async throws(FHIRError) in
                try await ehr.eligibility(patient: patientRef, coverage: onFile, now: Clock.nowMillis())
            }
            if let answer = try ehrAnswer(asked) {
                if answer.isInForce {
                    call.summary.append("Insurance confirmed in force with the payer (\(payer)).")
                    return .resolved
                }
                call.summary.append("The payer says the coverage on file (\(payer)) is not in force; billing will call back.")
                return .callback
            }
        }
        if onFile.status == .active {
            call.summary.append("Insurance on file confirmed (\(payer)).")
            return .resolved
        }
        call.summary.append("No active insurance on file; billing will call back.")
        return .callback
    }

    private func recordBooking(_ call: CallRecord, bookingID: String, kind: BookingKind, ref: String, version: String?,
                               slot: SlotSeen, provider: Practice.Provider, queued: Bool) async throws {
        let now = Clock.nowMillis()
        let patientID = String((call.patientRef ?? "").split(separator: "/").last ?? "")
        var flags: [ReviewFlag] = []
        let inWindow = configuration.goLive.contains(now)
        if inWindow { flags.append(.goLive) }
        if call.plan.workflow == .newPatientBooking && kind == .book { flags.append(.newPatient) }
        if call.lowIdentityMatch { flags.append(.lowIdentityMatch) }
        if call.ambiguousMatch { flags.append(.ambiguousMatch) }
        let hour = (now / 3_600_000) % 24, weekday = ((now / 86_400_000) + 3) % 7
        if call.plan.workflow == .afterHours || hour < 8 || hour >= 17 || weekday >= 5 { flags.append(.outOfHours) }
        if kind == .book && practice.hasNearby(patient: patientID, start: slot.start) { flags.append(.nearDuplicate) }
        if call.retried { flags.append(.retried) }
        if queued { flags.append(.queued); call.queued = true }
        let booking = Booking(bookingId: bookingID, callId: call.id, kind: kind, appointmentRef: ref, appointmentVersion: version,
                              patientRef: call.patientRef, patientDisplay: call.plan.caller.display, providerRef: provider.practitionerRef,
                              appointmentType: slot.appointmentType, startAt: slot.start, endAt: slot.end, bookedAt: now,
                              reviewRequired: inWindow, flags: flags)
        try await ledger.record(bookings: [booking])
        hub.publish(.bookingCreated(.init(bookingId: bookingID, callId: call.id, kind: kind, startAt: slot.start, reviewRequired: inWindow)))
        if kind == .book {
            practice.settle(slot: slot.id)
            if !ref.hasPrefix("Appointment?") {
                practice.booked(AppointmentSeen(id: String(ref.split(separator: "/").last ?? ""), patientID: patientID, slotID: slot.id, start: slot.start))
            }
        }
        let verb = kind == .book ? "Booked" : kind == .reschedule ? "Rescheduled" : "Cancelled"
        call.summary.append("\(verb) with \(provider.display)" + (queued ? "; the EHR is down, will confirm by text once it is sent." : "."))
    }

    /// The call note in the chart (through the outbox like every write).
    private func writeNote(_ call: CallRecord, outcome: CallOutcome) async {
        let key = "\(call.id):note"
        let category: String = switch call.plan.workflow {
        case .prescriptionRefill: "refill request"
        case .urgentTriage: "urgent triage"
        case .afterHours: "after-hours message"
        default: "phone call summary"
        }
        let note = Communication(identifier: [Identifier(system: "urn:switchboard:call", value: call.id)], status: .completed,
                                 category: [CodeableConcept(text: category)],
                                 subject: call.patientRef.map { Reference($0) }, sent: FHIRInstant(millis: Clock.nowMillis()).text,
                                 payload: [CommunicationPayload(contentString: "Outcome: \(outcome.rawValue). " + call.summary.joined(separator: " "))])
        let order = configuration.transport == .rest
            ? WriteOrder(operation: "communication.create",
                         request: RESTRequests.note(patientID: call.patientRef.map { String($0.split(separator: "/").last ?? "") },
                                                    category: category, text: note.payload?.first?.contentString ?? "", externalID: call.id,
                                                    idempotencyKey: key),
                         callID: call.id, bookingID: nil, idempotencyKey: key, transport: .rest)
            : WriteOrder(operation: "communication.create",
                         request: OutboxRequest(method: "POST", url: "Communication", headers: ["Idempotency-Key": key], body: Self.json(note)),
                         callID: call.id, bookingID: nil, idempotencyKey: key, transport: .fhir)
        _ = try? await send(order)
    }

    private func siuOrder(_ event: SIUEvent, call: CallRecord, bookingID: String, placer: String, filler: String?,
                          slot: SlotSeen, provider: Practice.Provider) -> WriteOrder {
        let caller = call.plan.caller
        let siu = SIUAppointment(event: event, placerID: placer, fillerID: filler, start: slot.start, end: slot.end,
                                 appointmentType: slot.appointmentType, reason: "phone booking",
                                 practitionerID: String(provider.practitionerRef.split(separator: "/").last ?? ""),
                                 patient: HL7Patient(id: String((call.patientRef ?? "").split(separator: "/").last ?? ""),
                                                     family: caller.family, given: caller.given, birthDate: caller.birthDate))
        let operation = "hl7.siu_\(event.rawValue.lowercased())"
        let message = siu.message(controlID: "\(bookingID)-\(event.rawValue)", at: Clock.nowMillis(),
                                  endpoints: HL7Endpoints(sendingApplication: "SWITCHBOARD", sendingFacility: "AGENT",
                                                          receivingApplication: "EHR", receivingFacility: "PRACTICE"))
        return WriteOrder(operation: operation,
                          request: OutboxRequest(method: "SIU^\(event.rawValue)", url: "mllp://127.0.0.1:\(mllp?.port ?? 0)",
                                                 headers: ["Idempotency-Key": "\(bookingID):\(operation)"], body: message.encoded()),
                          callID: call.id, bookingID: bookingID, idempotencyKey: "\(bookingID):\(operation)", transport: .hl7v2)
    }

    /// A conditional reference naming the booking until the EHR gives the appointment an id.
    static func pendingRef(_ bookingID: String) -> String { "Appointment?identifier=urn:switchboard:booking|\(bookingID)" }

    static func json(_ resource: some Encodable) -> String {
        (try? FHIRJSON.encode(resource)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// A birth date a caller might misstate: day and month swapped, or off by a year.
    static func shift(birthDate: String) -> String {
        let parts = birthDate.split(separator: "-")
        guard parts.count == 3, let year = Int(parts[0]) else { return birthDate }
        return "\(year - 1)-\(parts[1])-\(parts[2])"
    }
}
