import Foundation
import SwitchboardCore

/// A reviewer's change to one appointment, whatever the pathway. Times are unix ms.
public struct AppointmentCorrection: Sendable, Equatable {
    /// `Appointment/<id>` in the site's EHR, as the booking recorded it.
    public var appointmentRef: String
    /// The EHR's version the change starts from (FHIR versionId, the REST API's `version`).
    public var version: String
    public var cancel: Bool
    public var start: UnixMillis
    public var end: UnixMillis
    /// The free slot chosen in the slot picker (`Slot/…`).
    public var newSlotRef: String?
    /// A provider or type the reviewer changed (nil: unchanged).
    public var newProviderRef: String?
    public var newAppointmentType: String?
    /// The provider, type and patient the appointment has after the change.
    public var providerRef: String?
    public var appointmentType: String?
    public var patientRef: String?

    public init(appointmentRef: String, version: String, cancel: Bool, start: UnixMillis, end: UnixMillis, newSlotRef: String?,
                newProviderRef: String?, newAppointmentType: String?, providerRef: String?, appointmentType: String?,
                patientRef: String?) {
        self.appointmentRef = appointmentRef; self.version = version; self.cancel = cancel; self.start = start; self.end = end
        self.newSlotRef = newSlotRef; self.newProviderRef = newProviderRef; self.newAppointmentType = newAppointmentType
        self.providerRef = providerRef; self.appointmentType = appointmentType; self.patientRef = patientRef
    }

    public var appointmentID: String { String(appointmentRef.split(separator: "/").last ?? Substring(appointmentRef)) }
}

/// A write for the outbox on the site's pathway.
public struct PathwayWrite: Sendable, Equatable {
    public var transport: Transport
    public var operation: String
    public var request: OutboxRequest
}

/// Why a correction cannot be written on the site's pathway.
public enum CorrectionRequestError: Error, Equatable, CustomStringConvertible {
    /// A REST site moves an appointment only into an open slot.
    case needsSlot
    /// An HL7 v2 correction repeats the agent's SIU message with the change; there is none.
    case noAgentMessage

    public var description: String {
        switch self {
        case .needsSlot: "this EHR's REST API moves an appointment only into an open slot: pick one from the free slots"
        case .noAgentMessage: "the agent's SIU message for this booking is not in the outbox, so no SIU^S13/S15 can be built; correct it in the EHR"
        }
    }
}

/// The correction's EHR write on each pathway, as a pure function of the pathway, the
/// change, and the appointment as written (the agent's last delivered write of the booking,
/// or for FHIR the resource as read after a 412):
/// - FHIR: `PUT Appointment/{id}` with `If-Match` on the version; a PUT replaces the
///   resource, so what the correction does not change is sent again from `base`;
/// - REST: `PUT appointments/{id}/reschedule` (into the chosen open slot) or `/cancel`,
///   form-encoded, naming `version` (a newer one is refused 412);
/// - HL7 v2: the agent's SIU message with the change, as `SIU^S13` (reschedule) or
///   `SIU^S15` (cancel), SCH-2 naming the EHR's appointment, and a `ZSB` segment with the
///   version it starts from (refused `AE 206` when stale: HL7 v2's stand-in for 412).
public enum CorrectionRequests {
    public static func write(pathway: Transport, correction c: AppointmentCorrection, written: OutboxRequest?, base: Appointment?,
                             idempotencyKey: String, now: UnixMillis) throws(CorrectionRequestError) -> PathwayWrite {
        switch pathway {
        case .fhir:
            let first = base ?? written.flatMap { try? FHIRJSON.decode(Appointment.self, from: Data($0.body.utf8)) }
            return PathwayWrite(transport: .fhir, operation: "appointment.update", request: fhirUpdate(c, base: first))
        case .rest:
            let request: OutboxRequest
            if c.cancel {
                request = RESTRequests.cancel(appointmentID: c.appointmentID, version: c.version, reason: "corrected by review",
                                              idempotencyKey: idempotencyKey)
            } else {
                guard let slot = c.newSlotRef else { throw .needsSlot }
                request = RESTRequests.reschedule(appointmentID: c.appointmentID, newSlotID: String(slot.split(separator: "/").last ?? ""),
                                                  version: c.version, appointmentType: c.newAppointmentType, idempotencyKey: idempotencyKey)
            }
            return PathwayWrite(transport: .rest, operation: "appointment.update", request: request)
        case .hl7v2:
            guard let written, let message = try? HL7Message(parsing: written.body), var siu = try? SIUAppointment(message) else {
                throw .noAgentMessage
            }
            siu.event = c.cancel ? .cancel : .reschedule
            siu.fillerID = c.appointmentID
            siu.start = c.start
            siu.end = c.end
            if let provider = c.providerRef { siu.practitionerID = String(provider.split(separator: "/").last ?? "") }
            if let type = c.appointmentType { siu.appointmentType = type }
            siu.reason = "corrected by review"
            let header = message.header
            let endpoints = HL7Endpoints(sendingApplication: header[3].value, sendingFacility: header[4].value,
                                         receivingApplication: header[5].value, receivingFacility: header[6].value)
            // MSH-10 at most 199 characters; the key is unique per correction.
            let controlID = String(idempotencyKey.suffix(60))
            let operation = "hl7.siu_\(siu.event.rawValue.lowercased())"
            var out = siu.message(controlID: controlID, at: now, endpoints: endpoints)
            // ZSB-1: the version the correction starts from; the EHR refuses a stale one (AE 206).
            var zsb = HL7Segment("ZSB", [])
            zsb[1] = HL7Field(c.version)
            out.segments.append(zsb)
            let request = OutboxRequest(method: "SIU^\(siu.event.rawValue)", url: written.url, headers: ["Idempotency-Key": idempotencyKey],
                                        body: out.encoded())
            return PathwayWrite(transport: .hl7v2, operation: operation, request: request)
        }
    }

    /// The FHIR PUT: `base` is the whole appointment the correction starts from. Without a
    /// base the appointment is rebuilt from what the booking knows (no slot).
    static func fhirUpdate(_ c: AppointmentCorrection, base: Appointment?) -> OutboxRequest {
        var appointment = base ?? Appointment(status: .booked, participant: c.patientRef.map {
            [AppointmentParticipant(actor: Reference($0), status: .accepted)]
        } ?? [])
        appointment.id = c.appointmentID
        appointment.meta = nil  // the EHR's to set
        if c.cancel { appointment.status = .cancelled }
        appointment.start = FHIRInstant(millis: c.start)
        appointment.end = FHIRInstant(millis: c.end)
        if let slot = c.newSlotRef { appointment.slot = [Reference(slot)] }
        if base == nil || c.newAppointmentType != nil {
            appointment.appointmentType = c.appointmentType.map {
                CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: $0)])
            }
        }
        if base == nil || c.newProviderRef != nil, let provider = c.providerRef {
            appointment.participant.removeAll { $0.actor?.reference?.hasPrefix("Practitioner/") == true }
            appointment.participant.append(AppointmentParticipant(actor: Reference(provider), status: .accepted))
        }
        // If-Match on the version the correction starts from makes the EHR refuse (412)
        // if anyone changed the appointment since, instead of overwriting their change.
        let body = (try? FHIRJSON.encode(appointment)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return OutboxRequest(method: "PUT", url: "Appointment/\(c.appointmentID)",
                             headers: ["If-Match": "W/\"\(c.version)\"", "Content-Type": FHIRJSON.contentType], body: body)
    }
}
