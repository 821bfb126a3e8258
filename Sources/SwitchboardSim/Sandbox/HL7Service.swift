import Foundation
import GRDB
import SwitchboardCore
import SwitchboardEHR

/// Applies HL7 v2 messages to the same practice the FHIR API serves and says how it went:
/// AA applied, AE understood but not applied (slot taken, unknown appointment), AR not
/// understood (malformed, or a type this EHR does not take).
struct HL7Service: Sendable {
    let database: SandboxDatabase
    /// `versionConflictRate` refuses S13/S15 as changed (AE 206), as it answers PUTs 412.
    var faults: Locked<SandboxFaults>?
    static let placerSystem = "urn:switchboard:hl7:placer"

    func acknowledge(_ text: String) async -> String {
        let now = Clock.nowMillis()
        let controlID = "ack-" + UUID().uuidString.prefix(8).lowercased()
        let message: HL7Message
        do {
            message = try HL7Message(parsing: text)
        } catch {
            return HL7Acknowledgment(code: .reject, acknowledgedControlID: "", text: "\(error)", errorCode: "100")
                .message(answering: nil, controlID: controlID, at: now).encoded()
        }
        // MSH-10 is the message's key: a resend carries the same one.
        let key = "hl7:" + message.controlID
        let ack: HL7Acknowledgment
        do {
            try await apply(message, key: key, now: now)
            ack = HL7Acknowledgment(code: .accept, acknowledgedControlID: message.controlID)
        } catch let error as HL7MessageError {
            let code = if case .unsupportedType = error { "200" } else { "101" }
            ack = HL7Acknowledgment(code: .reject, acknowledgedControlID: message.controlID, text: "\(error)", errorCode: code)
        } catch let refusal as Refusal {
            ack = HL7Acknowledgment(code: .error, acknowledgedControlID: message.controlID, text: refusal.text, errorCode: refusal.code)
        } catch {
            ack = HL7Acknowledgment(code: .error, acknowledgedControlID: message.controlID, text: "\(error)", errorCode: "207")
        }
        // An applied message was counted in the transaction that applied it.
        if ack.code != .accept { database.noteRefused(key: key, status: ack.code.rawValue) }
        return ack.message(answering: message, controlID: controlID, at: now).encoded()
    }

    struct Refusal: Error {
        var code: String
        var text: String
    }

    /// Applies a message and counts its key as received and applied, in one transaction.
    private func apply(_ message: HL7Message, key: String, now: UnixMillis) async throws {
        switch message.type.code {
        case "ADT":
            let adt = try ADTRegistration(message)
            try await writeApplied(key: key) { db in
                let version = try Int.fetchOne(db, sql: "SELECT version FROM patient WHERE id = ?", arguments: [adt.patient.id])
                if adt.event == .update, version == nil { throw Refusal(code: "204", text: "Patient/\(adt.patient.id) is unknown") }
                let p = adt.patient
                let patient = Patient(id: p.id, active: true, name: [HumanName(use: .official, family: p.family, given: [p.given])],
                                      telecom: p.phone.map { [ContactPoint(system: .phone, value: $0)] }, birthDate: p.birthDate)
                try SandboxDatabase.insert(patient, version: (version ?? 0) + 1, at: now, db)
            }
        case "SIU":
            let siu = try SIUAppointment(message)
            // ZSB-1 (a site extension): the appointment version the sender's change starts
            // from. HL7 v2 has no If-Match; a stale one is refused AE 206 (record changed).
            let expected = message["ZSB"].map { $0[1].value }.flatMap { $0.isEmpty ? nil : $0 }
            let injected = siu.event != .new && Double.random(in: 0 ..< 1) < (faults?.current.versionConflictRate ?? 0)
            try await writeApplied(key: key) { db in
                if siu.event != .new, let current = try Int.fetchOne(db, sql: "SELECT version FROM appointment WHERE id = ? OR identifier_key = ?",
                                                                     arguments: [siu.fillerID, "\(HL7Service.placerSystem)|\(siu.placerID)"]) {
                    if injected { throw Refusal(code: "206", text: "appointment \(siu.fillerID ?? siu.placerID) was changed by someone else (injected)") }
                    if let expected, expected != String(current) {
                        throw Refusal(code: "206", text: "appointment \(siu.fillerID ?? siu.placerID) was changed since version \(expected) (now \(current))")
                    }
                }
                try self.apply(siu, now: now, db)
            }
        default:
            throw HL7MessageError.unsupportedType("\(message.type.code)^\(message.type.event)")
        }
    }

    /// `change`, and its key counted as received and applied, in one transaction.
    private func writeApplied(key: String, _ change: @escaping @Sendable (Database) throws -> Void) async throws {
        try await database.pool.write { db in
            try change(db)
            try SandboxDatabase.noteReceived(key: key, status: HL7Acknowledgment.Code.accept.rawValue, applied: true, db)
        }
    }

    private func apply(_ siu: SIUAppointment, now: UnixMillis, _ db: Database) throws {
        guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM patient WHERE id = ?)", arguments: [siu.patient.id]) == true else {
            throw Refusal(code: "204", text: "Patient/\(siu.patient.id) is unknown")
        }
        let existing = try Row.fetchOne(db, sql: "SELECT id, version FROM appointment WHERE id = ? OR identifier_key = ?",
                                        arguments: [siu.fillerID, "\(HL7Service.placerSystem)|\(siu.placerID)"])
        if siu.event != .new, existing == nil { throw Refusal(code: "204", text: "appointment \(siu.fillerID ?? siu.placerID) is unknown") }
        if siu.event == .new, existing != nil { throw Refusal(code: "205", text: "appointment \(siu.placerID) already exists") }
        var slot: String?
        if siu.event != .cancel {
            slot = try String.fetchOne(db, sql: """
                SELECT s.id FROM slot s JOIN schedule sc ON sc.id = s.schedule_id
                WHERE sc.practitioner_id = ? AND s.start_ms = ?
                """, arguments: [siu.practitionerID, siu.start])
            guard slot != nil else {
                throw Refusal(code: "204", text: "Practitioner/\(siu.practitionerID) has no slot at \(FHIRInstant(millis: siu.start))")
            }
        }
        let id: String = (existing?["id"] as String?) ?? UUID().uuidString.lowercased()
        let version: Int = (existing?["version"] as Int?) ?? 0
        var appointment = (try SandboxDatabase.appointment(id: id, db)) ?? Appointment(
            id: id, identifier: [Identifier(system: HL7Service.placerSystem, value: siu.placerID)], status: .booked,
            created: FHIRInstant(millis: now).text,
            participant: [AppointmentParticipant(actor: Reference("Patient/\(siu.patient.id)"), status: .accepted),
                          AppointmentParticipant(actor: Reference("Practitioner/\(siu.practitionerID)"), status: .accepted)])
        appointment.meta = nil
        if siu.event == .cancel {
            appointment.status = .cancelled
        } else {
            let held = try String.fetchOne(db, sql: "SELECT appointment_id FROM slot_hold WHERE slot_id = ?", arguments: [slot])
            let status = try String.fetchOne(db, sql: "SELECT status FROM slot WHERE id = ?", arguments: [slot])
            if held != nil && held != id || held == nil && status != "free" {
                throw Refusal(code: "205", text: "Slot/\(slot!) is not free")
            }
            appointment.status = .booked
            appointment.slot = [Reference("Slot/\(slot!)")]
            appointment.start = FHIRInstant(millis: siu.start)
            appointment.end = FHIRInstant(millis: siu.end)
            appointment.description = siu.reason ?? appointment.description
            if let type = siu.appointmentType {
                appointment.appointmentType = CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: type)])
            }
        }
        do {
            try SandboxDatabase.save(appointment, version: version + 1, at: now, db)
        } catch let taken as SlotTaken {
            throw Refusal(code: "205", text: "Slot/\(taken.slotID) is already booked")
        }
    }
}
