import Foundation
import SwitchboardCore
import SwitchboardEHR

/// How one try at an outbox item went.
enum Delivery: Sendable {
    /// `appointment` is the EHR's reference and version for appointment writes.
    case delivered(httpStatus: Int?, ack: String?, appointment: (ref: String, version: String?)?)
    case retry(error: String, httpStatus: Int?, ack: String?, after: Duration?)
    case refused(error: String, httpStatus: Int?, ack: String?)
}

extension Agent {
    /// Sends one claimed item once, with every EHR request audited under the item's call.
    func deliver(_ item: OutboxItem) async -> Delivery {
        guard let request = OutboxRequest.decode(item.request) else {
            return .refused(error: "unreadable request in the outbox", httpStatus: nil, ack: nil)
        }
        let context = StepContext(callID: item.callId, step: item.operation.hasPrefix("communication") ? "note"
                                      : item.operation.hasPrefix("patient") || item.operation.hasPrefix("hl7.adt") ? "register" : "book",
                                  action: Self.auditAction(item.operation), attempt: item.attempts,
                                  detail: ["outbox_item": item.id, "idempotency_key": item.idempotencyKey])
        if item.transport == .hl7v2 { return await deliverHL7(item, request, context) }
        let result: Result<Delivery, FHIRError> = await audited(context) { ehr async throws(FHIRError) -> Delivery in
            let fhir = ehr.fhir
            if item.transport == .rest {
                guard let rest = ehr.rest else { throw FHIRError.invalidResponse("this agent has no REST client for a REST item") }
                return try await Self.deliverREST(item, request, rest)
            }
            switch item.operation {
            case "appointment.create":
                let appointment = try Self.decodeResource(Appointment.self, request.body)
                let made = try await fhir.createAppointment(appointment, ifNoneExist: request.headers["If-None-Exist"],
                                                            idempotencyKey: request.headers["Idempotency-Key"])
                return .delivered(httpStatus: made.httpStatus, ack: nil,
                                  appointment: ("Appointment/\(made.value.id ?? "")", made.versionId))
            case "appointment.update":
                let appointment = try Self.decodeResource(Appointment.self, request.body)
                do throws(FHIRError) {
                    let moved = try await fhir.updateAppointment(appointment, ifMatch: request.headers["If-Match"] ?? "")
                    return .delivered(httpStatus: moved.httpStatus, ack: nil,
                                      appointment: ("Appointment/\(appointment.id ?? "")", moved.versionId))
                } catch {
                    // An earlier try may have landed with its answer lost: if the EHR already
                    // holds what we asked for, this is that write, not a conflict.
                    guard case .preconditionFailed = error, item.attempts > 1 else { throw error }
                    let now = try await fhir.readAppointment(id: appointment.id ?? "")
                    guard now.value.status == appointment.status, now.value.slot == appointment.slot else { throw error }
                    return .delivered(httpStatus: now.httpStatus, ack: nil,
                                      appointment: ("Appointment/\(appointment.id ?? "")", now.versionId))
                }
            case "patient.create":
                let patient = try Self.decodeResource(Patient.self, request.body)
                let made = try await fhir.createPatient(patient, ifNoneExist: request.headers["If-None-Exist"],
                                                        idempotencyKey: request.headers["Idempotency-Key"])
                return .delivered(httpStatus: made.httpStatus, ack: nil, appointment: ("Patient/\(made.value.id ?? "")", made.versionId))
            case "patient.update":
                let patient = try Self.decodeResource(Patient.self, request.body)
                let changed = try await fhir.updatePatient(patient, ifMatch: request.headers["If-Match"] ?? "")
                return .delivered(httpStatus: changed.httpStatus, ack: nil, appointment: ("Patient/\(patient.id ?? "")", changed.versionId))
            case "task.create":
                let task = try Self.decodeResource(FHIRTask.self, request.body)
                let made = try await fhir.createTask(task, idempotencyKey: request.headers["Idempotency-Key"])
                return .delivered(httpStatus: made.httpStatus, ack: nil, appointment: nil)
            case "communication.create":
                let note = try Self.decodeResource(Communication.self, request.body)
                let made = try await fhir.createCommunication(note, idempotencyKey: request.headers["Idempotency-Key"])
                return .delivered(httpStatus: made.httpStatus, ack: nil, appointment: nil)
            default:
                throw FHIRError.invalidResponse("unknown outbox operation \(item.operation)")
            }
        }
        switch result {
        case .success(let delivery): return delivery
        case .failure(let error) where error.isStopping:
            // The agent is stopping: the EHR may or may not have the write. Not a refusal;
            // the item is sent again after a restart (its idempotency key makes that safe).
            return .retry(error: "stopped before the EHR answered", httpStatus: nil, ack: nil, after: nil)
        case .failure(let error) where error.isRetryable:
            return .retry(error: error.description, httpStatus: error.httpStatus, ack: nil, after: error.retryAfter)
        case .failure(let error):
            return .refused(error: error.description, httpStatus: error.httpStatus, ack: nil)
        }
    }

    /// A REST write as the outbox holds it. A retried change refused 412 whose first try
    /// landed (answer lost) is that write, not a conflict: the appointment already shows it.
    private static func deliverREST(_ item: OutboxItem, _ request: OutboxRequest, _ rest: RESTClient) async throws(FHIRError) -> Delivery {
        do throws(FHIRError) {
            let answer = try await rest.send(request)
            let appointment = answer.value["appointmentid"].map { ("Appointment/\($0)", answer.value["version"]) }
            if item.operation.hasPrefix("patient") {
                return .delivered(httpStatus: answer.httpStatus, ack: nil, appointment: answer.value["patientid"].map { ("Patient/\($0)", nil) })
            }
            return .delivered(httpStatus: answer.httpStatus, ack: nil, appointment: item.operation.hasPrefix("appointment") ? appointment : nil)
        } catch {
            guard case .preconditionFailed = error, item.attempts > 1, item.operation == "appointment.update" else { throw error }
            let parts = request.url.split(separator: "/").map(String.init)
            guard parts.count == 3 else { throw error }
            let now = try await rest.appointment(id: parts[1])
            let form = formFields(request.body)
            let landed = parts[2] == "cancel" ? now.value.isCancelled : now.value.slotid == form["newappointmentid"] && !now.value.isCancelled
            guard landed else { throw error }
            return .delivered(httpStatus: now.httpStatus, ack: nil, appointment: ("Appointment/\(parts[1])", now.value.version))
        }
    }

    static func auditAction(_ operation: String) -> String {
        switch operation {
        case "hl7.siu_s12": "appointment.create"
        case "hl7.siu_s13", "hl7.siu_s15": "appointment.update"
        case "hl7.adt_a04": "patient.create"
        case "hl7.adt_a08": "patient.update"
        default: operation
        }
    }

    private static func decodeResource<R: Decodable>(_ type: R.Type, _ body: String) throws(FHIRError) -> R {
        do { return try FHIRJSON.decode(R.self, from: Data(body.utf8)) } catch {
            throw FHIRError.invalidResponse("the outbox holds an unreadable \(R.self)")
        }
    }

    private func deliverHL7(_ item: OutboxItem, _ request: OutboxRequest, _ context: StepContext) async -> Delivery {
        if let message = try? HL7Message(parsing: request.body), let adt = try? ADTRegistration(message) {
            return await deliverADT(item, message, adt, context)
        }
        guard let mllp, let message = try? HL7Message(parsing: request.body), let siu = try? SIUAppointment(message) else {
            return .refused(error: "the outbox holds an unreadable HL7 message", httpStatus: nil, ack: nil)
        }
        let started = Clock.nowMillis()
        let outcome: Result<MLLPResult, MLLPError>
        do { outcome = .success(try await mllp.send(message)) } catch { outcome = .failure(error) }
        let latency = Int(Clock.nowMillis() - started)
        var detail = context.detail
        let audit: AuditOutcome
        let delivery: Delivery
        switch outcome {
        case .success(let result):
            detail["ack"] = result.ack.code.rawValue
            detail["ack_error"] = result.ack.errorCode
            // A resent S12 whose first copy was applied comes back "duplicate key" (205).
            let repeatOfOurs = siu.event == .new && result.ack.code == .error && result.ack.errorCode == "205"
                && item.attempts > 1 && (result.ack.text ?? "").contains("already exists")
            if result.ack.code.isSuccess || repeatOfOurs {
                audit = .success
                delivery = .delivered(httpStatus: nil, ack: result.ack.code.rawValue, appointment: nil)
            } else {
                audit = .minorFailure
                delivery = .refused(error: "ACK \(result.ack.code.rawValue) \(result.ack.errorCode ?? ""): \(result.ack.text ?? "")",
                                    httpStatus: nil, ack: result.ack.code.rawValue)
            }
            link.observe(.answered(latencyMs: latency))
        case .failure(let error):
            detail["error"] = error.description
            audit = error.isRetryable ? .majorFailure : .seriousFailure
            delivery = error.isRetryable ? .retry(error: error.description, httpStatus: nil, ack: nil, after: nil)
                : .refused(error: error.description, httpStatus: nil, ack: nil)
            link.observe(error.isRetryable ? .unreachable : .failed)
        }
        let row = AuditEvent(at: started, actor: actor, callId: item.callId, action: context.action, ehrSystem: configuration.ehrSystem,
                             transport: .hl7v2, method: "SIU^\(siu.event.rawValue)", resourceType: "Appointment",
                             resourceId: siu.fillerID ?? siu.placerID, outcome: audit, latencyMs: latency,
                             attempt: item.attempts, detail: JSONText.object(detail))
        try? await ledger.record(audit: [row])
        if let callID = item.callId {
            hub.publish(.callStep(.init(callId: callID, at: started, step: context.step, action: context.action, outcome: audit,
                                        latencyMs: latency, attempt: item.attempts, detail: detail["ack"])))
        }
        guard case .delivered = delivery else { return delivery }
        // Learn the appointment's id and version. A move or cancel names the EHR's own id
        // (SCH-2), so read it; a new booking is found by our placer id (SCH-1).
        if let filler = siu.fillerID {
            let read = await audited(StepContext(callID: item.callId, step: "book", action: "appointment.read", attempt: 1,
                                                 detail: ["outbox_item": item.id])) { ehr async throws(FHIRError) in
                try await ehr.fhir.readAppointment(id: filler)
            }
            let version = (try? read.get()).map { $0.versionId ?? $0.value.meta?.versionId }
            return .delivered(httpStatus: nil, ack: "AA", appointment: version.map { ("Appointment/\(filler)", $0) })
        }
        let found = await audited(StepContext(callID: item.callId, step: "book", action: "appointment.search", attempt: 1,
                                              detail: ["by": "patient,date", "outbox_item": item.id])) { ehr async throws(FHIRError) in
            try await ehr.fhir.searchAppointments(patient: "Patient/\(siu.patient.id)", from: FHIRInstant(millis: siu.start),
                                              to: FHIRInstant(millis: siu.start + 60_000))
        }
        let match = (try? found.get())?.value.first { $0.identifier?.contains { $0.value == siu.placerID } == true }
        return .delivered(httpStatus: nil, ack: "AA",
                          appointment: match.map { ("Appointment/\($0.id ?? "")", $0.meta?.versionId) })
    }
}

extension Agent {
    /// A patient registration or update over MLLP: one audit row, the ACK decides.
    private func deliverADT(_ item: OutboxItem, _ message: HL7Message, _ adt: ADTRegistration, _ context: StepContext) async -> Delivery {
        guard let mllp else { return .refused(error: "this agent has no MLLP connection", httpStatus: nil, ack: nil) }
        let started = Clock.nowMillis()
        var detail = context.detail
        let audit: AuditOutcome, delivery: Delivery
        do {
            let result = try await mllp.send(message)
            detail["ack"] = result.ack.code.rawValue
            detail["ack_error"] = result.ack.errorCode
            link.observe(.answered(latencyMs: Int(Clock.nowMillis() - started)))
            if result.ack.code.isSuccess {
                audit = .success
                delivery = .delivered(httpStatus: nil, ack: result.ack.code.rawValue, appointment: ("Patient/\(adt.patient.id)", nil))
            } else {
                audit = .minorFailure
                delivery = .refused(error: "ACK \(result.ack.code.rawValue) \(result.ack.errorCode ?? ""): \(result.ack.text ?? "")",
                                    httpStatus: nil, ack: result.ack.code.rawValue)
            }
        } catch {
            detail["error"] = error.description
            audit = error.isRetryable ? .majorFailure : .seriousFailure
            delivery = error.isRetryable ? .retry(error: error.description, httpStatus: nil, ack: nil, after: nil)
                : .refused(error: error.description, httpStatus: nil, ack: nil)
            link.observe(error.isRetryable ? .unreachable : .failed)
        }
        let latency = Int(Clock.nowMillis() - started)
        try? await ledger.record(audit: [AuditEvent(
            at: started, actor: actor, callId: item.callId, action: context.action, ehrSystem: configuration.ehrSystem, transport: .hl7v2,
            method: "ADT^\(adt.event.rawValue)", resourceType: "Patient", resourceId: adt.patient.id, outcome: audit, latencyMs: latency,
            attempt: item.attempts, detail: JSONText.object(detail))])
        if let callID = item.callId {
            hub.publish(.callStep(.init(callId: callID, at: started, step: context.step, action: context.action, outcome: audit,
                                        latencyMs: latency, attempt: item.attempts, detail: detail["ack"])))
        }
        return delivery
    }
}

extension FHIRError {
    /// The request was cancelled here (the agent is stopping), not refused by the EHR.
    var isStopping: Bool {
        switch self {
        case .transport(.cancelled), .authentication(.transport(.cancelled)): true
        default: false
        }
    }
}
