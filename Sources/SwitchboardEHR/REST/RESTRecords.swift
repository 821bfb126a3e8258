import Foundation
import SwitchboardCore

/// A provider as a vendor REST API lists it (athenahealth's `/providers`).
public struct RESTProvider: Codable, Sendable, Equatable {
    public var providerid: String
    public var firstname: String?
    public var lastname: String?
    public var displayname: String?
}

/// A patient as a vendor REST API finds it. `dob` is `MM/DD/YYYY`.
public struct RESTPatient: Codable, Sendable, Equatable {
    public var patientid: String
    public var firstname: String?
    public var lastname: String?
    public var dob: String?
    public var mobilephone: String?
}

/// An open slot or a booked appointment (athenahealth calls both appointments; an open one
/// has status `o`, a booked one `f`, a cancelled one `x`). `date` is `MM/DD/YYYY` and
/// `starttime` `HH:mm`, both UTC here; `version` is what a change must name.
public struct RESTAppointment: Codable, Sendable, Equatable {
    public var appointmentid: String
    public var appointmentstatus: String?
    public var patientid: String?
    public var providerid: String?
    public var date: String
    public var starttime: String
    public var duration: String?
    public var appointmenttype: String?
    public var slotid: String?
    public var version: String?

    public var start: UnixMillis? {
        guard let day = RESTDates.millis(fromUS: date) else { return nil }
        let parts = starttime.split(separator: ":").compactMap { Int64($0) }
        guard parts.count == 2 else { return nil }
        return day + parts[0] * 3_600_000 + parts[1] * 60_000
    }

    public var end: UnixMillis? { start.map { $0 + (Int64(duration ?? "") ?? 0) * 60_000 } }
    public var isCancelled: Bool { appointmentstatus == "x" }
}

/// The dates vendor REST APIs use: `MM/DD/YYYY`, taken as UTC days here.
public enum RESTDates {
    private static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    public static func usDate(_ millis: UnixMillis) -> String {
        let d = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(millis) / 1000))
        return String(format: "%02d/%02d/%04d", d.month!, d.day!, d.year!)
    }

    public static func time(_ millis: UnixMillis) -> String {
        let minutes = (millis / 60_000) % 1440
        return String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    /// `11/26/2026` → midnight UTC that day.
    public static func millis(fromUS text: String) -> UnixMillis? {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 3, (1 ... 12).contains(parts[0]), (1 ... 31).contains(parts[1]), parts[2] > 0,
              let date = calendar.date(from: DateComponents(year: parts[2], month: parts[0], day: parts[1])) else { return nil }
        return UnixMillis(date.timeIntervalSince1970 * 1000)
    }

    /// `1984-03-07` → `03/07/1984`.
    public static func usDate(fromISO text: String) -> String? {
        let parts = text.split(separator: "-")
        guard parts.count == 3 else { return nil }
        return "\(parts[1])/\(parts[2])/\(parts[0])"
    }

    /// `03/07/1984` → `1984-03-07`.
    public static func isoDate(fromUS text: String) -> String? {
        let parts = text.split(separator: "/")
        guard parts.count == 3, parts[0].count == 2, parts[1].count == 2, parts[2].count == 4,
              millis(fromUS: text) != nil else { return nil }
        return "\(parts[2])-\(parts[0])-\(parts[1])"
    }
}

/// The writes of the REST pathway as outbox requests: pure functions, so the agent and the
/// console build the same request for the same change. URLs are relative to the REST base
/// (`…/v1/{practiceid}`); bodies are form-encoded; `Idempotency-Key` makes a retry safe, and
/// a change names the `version` it starts from (a newer one is refused 412).
public enum RESTRequests {
    public static func book(slotID: String, patientID: String, appointmentType: String?, externalID: String,
                            idempotencyKey: String) -> OutboxRequest {
        OutboxRequest(method: "PUT", url: "appointments/\(slotID)", headers: headers(idempotencyKey),
                      body: form([("patientid", patientID), ("appointmenttype", appointmentType ?? ""), ("externalid", externalID),
                                  ("bookingnote", "Booked by the phone agent")]))
    }

    public static func reschedule(appointmentID: String, newSlotID: String, version: String, appointmentType: String? = nil,
                                  idempotencyKey: String) -> OutboxRequest {
        var fields = [("newappointmentid", newSlotID), ("version", version)]
        if let appointmentType { fields.append(("appointmenttype", appointmentType)) }
        return OutboxRequest(method: "PUT", url: "appointments/\(appointmentID)/reschedule", headers: headers(idempotencyKey),
                             body: form(fields))
    }

    public static func cancel(appointmentID: String, version: String, reason: String, idempotencyKey: String) -> OutboxRequest {
        OutboxRequest(method: "PUT", url: "appointments/\(appointmentID)/cancel", headers: headers(idempotencyKey),
                      body: form([("version", version), ("cancellationreason", reason)]))
    }

    /// Registers a patient; the API answers an existing one with the same name, birth date
    /// and phone instead of making a duplicate.
    public static func register(firstName: String, lastName: String, birthDate: String, phone: String?,
                                idempotencyKey: String) -> OutboxRequest {
        OutboxRequest(method: "POST", url: "patients", headers: headers(idempotencyKey),
                      body: form([("firstname", firstName), ("lastname", lastName), ("dob", RESTDates.usDate(fromISO: birthDate) ?? birthDate),
                                  ("mobilephone", phone ?? "")]))
    }

    public static func updatePhone(patientID: String, phone: String, idempotencyKey: String) -> OutboxRequest {
        OutboxRequest(method: "PUT", url: "patients/\(patientID)", headers: headers(idempotencyKey), body: form([("mobilephone", phone)]))
    }

    public static func note(patientID: String?, category: String, text: String, externalID: String,
                            idempotencyKey: String) -> OutboxRequest {
        OutboxRequest(method: "POST", url: "notes", headers: headers(idempotencyKey),
                      body: form([("patientid", patientID ?? ""), ("category", category), ("notetext", text), ("externalid", externalID)]))
    }

    private static func headers(_ key: String) -> [String: String] {
        ["Idempotency-Key": key, "Content-Type": "application/x-www-form-urlencoded"]
    }

    /// `application/x-www-form-urlencoded`, spaces as `%20`.
    public static func form(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncode($0, keeping: ""))=\(percentEncode($1, keeping: ""))" }.joined(separator: "&")
    }
}

/// Insurance on file with the payer's last eligibility answer (`Eligible`, `Ineligible`).
public struct RESTInsurance: Codable, Sendable, Equatable {
    public var insuranceid: String
    public var insuranceplanname: String?
    public var eligibilitystatus: String?
    public var isEligible: Bool { eligibilitystatus == "Eligible" }
}

// MARK: In FHIR's shapes, so a caller writes one workflow for both pathways (the REST ids inside)

extension RESTProvider {
    public var practitioner: Practitioner {
        Practitioner(id: providerid, name: [HumanName(text: displayname, family: lastname, given: firstname.map { [$0] })])
    }
}

extension RESTPatient {
    public var patient: Patient {
        Patient(id: patientid, name: [HumanName(family: lastname, given: firstname.map { [$0] })],
                telecom: mobilephone.map { [ContactPoint(system: .phone, value: $0)] }, birthDate: dob.flatMap(RESTDates.isoDate(fromUS:)))
    }
}

extension RESTAppointment {
    /// `meta.versionId` is the API's `version`; `slot` its open-slot id.
    public var appointment: Appointment {
        Appointment(id: appointmentid, meta: version.map { Meta(versionId: $0) }, status: isCancelled ? .cancelled : .booked,
                    appointmentType: appointmenttype.map { CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: $0)]) },
                    start: start.map { FHIRInstant(millis: $0) }, end: end.map { FHIRInstant(millis: $0) },
                    slot: slotid.flatMap { $0.isEmpty ? nil : [Reference("Slot/\($0)")] },
                    participant: [AppointmentParticipant(actor: Reference("Patient/\(patientid ?? "")"), status: .accepted),
                                  AppointmentParticipant(actor: Reference("Practitioner/\(providerid ?? "")"), status: .accepted)])
    }
}
