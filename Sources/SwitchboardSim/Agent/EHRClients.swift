import Foundation
import SwitchboardCore
import SwitchboardEHR

/// The agent's way into the EHR for one step: FHIR, or the vendor's REST API on a REST
/// site. The reads answer in FHIR's shapes either way (a REST site's own ids inside), so a
/// workflow is written once. Every HTTP request of either client is reported for the audit.
struct EHRClients: Sendable {
    var fhir: FHIRClient
    /// Set on a REST site: reads and writes go through it instead of FHIR.
    var rest: RESTClient?

    func reporting(to observer: @escaping @Sendable (FHIRExchange) -> Void) -> EHRClients {
        EHRClients(fhir: fhir.reporting(to: observer), rest: rest?.reporting(to: observer))
    }

    func practice() async throws(FHIRError) -> (practitioners: [Practitioner], schedules: [Schedule]) {
        guard let rest else { return (try await fhir.practitioners().value, try await fhir.schedules().value) }
        let providers = try await rest.providers().value
        // A REST provider is its own schedule: open slots are asked for by provider.
        return (providers.map(\.practitioner),
                providers.map { Schedule(id: $0.providerid, actor: [Reference("Practitioner/\($0.providerid)")]) })
    }

    func patients(family: String? = nil, birthDate: String? = nil, phone: String? = nil) async throws(FHIRError) -> [Patient] {
        guard let rest else { return try await fhir.searchPatients(family: family, birthDate: birthDate, phone: phone).value }
        return try await rest.searchPatients(lastName: family, birthDate: birthDate, phone: phone).value.map(\.patient)
    }

    func freeSlots(schedule: String, from: UnixMillis, to: UnixMillis) async throws(FHIRError) -> [SlotSeen] {
        guard let rest else {
            return try await fhir.searchSlots(schedule: schedule, from: FHIRInstant(millis: from), to: FHIRInstant(millis: to),
                                              maxPages: 2).value.compactMap { slot in
                slot.id.map { SlotSeen(id: $0, scheduleID: schedule, start: slot.start.millis, end: slot.end.millis,
                                       appointmentType: slot.appointmentType?.code) }
            }
        }
        let provider = String(schedule.split(separator: "/").last ?? "")
        return try await rest.openSlots(providerID: provider, from: from, to: to, maxPages: 2).value.compactMap { slot in
            guard let start = slot.start, let end = slot.end else { return nil }
            return SlotSeen(id: slot.appointmentid, scheduleID: schedule, start: start, end: end, appointmentType: slot.appointmenttype)
        }
    }

    /// The patient's booked appointments (`Patient/…`), with the version a change must name.
    func bookedAppointments(patient: String) async throws(FHIRError) -> [Appointment] {
        guard let rest else { return try await fhir.searchAppointments(patient: patient, status: .booked).value }
        let id = String(patient.split(separator: "/").last ?? "")
        return try await rest.bookedAppointments(patientID: id).value.filter { !$0.isCancelled }.map(\.appointment)
    }

    /// Coverage on file; on a REST site the payer's eligibility answer decides active or not.
    func coverage(patient: String) async throws(FHIRError) -> [Coverage] {
        guard let rest else { return try await fhir.searchCoverage(beneficiary: patient).value }
        let id = String(patient.split(separator: "/").last ?? "")
        return try await rest.insurances(patientID: id).value.map { insurance in
            Coverage(id: insurance.insuranceid, status: insurance.isEligible ? .active : .cancelled, beneficiary: Reference(patient),
                     payor: [Reference("Organization/\(insurance.insuranceid)", display: insurance.insuranceplanname ?? "payor")])
        }
    }

    /// The payer's answer on whether `coverage` is in force today (FHIR: a
    /// `CoverageEligibilityRequest` POSTed). Nil on a REST site, whose insurance list already
    /// carries the payer's last answer.
    func eligibility(patient: String, coverage: Coverage, now: UnixMillis) async throws(FHIRError) -> CoverageEligibilityResponse? {
        guard rest == nil, let reference = coverage.reference else { return nil }
        let asked = CoverageEligibilityRequest(patient: Reference(patient), created: FHIRInstant(millis: now).text,
                                               insurer: coverage.payor.first ?? Reference("Organization/unknown"), coverage: reference)
        return try await fhir.checkEligibility(asked).value
    }

    /// Whether the EHR answers at all (the drain worker's probe while it is down).
    func probe() async throws(FHIRError) -> Int {
        guard let rest else { return try await fhir.capabilities().httpStatus }
        return try await rest.providers().httpStatus
    }
}
