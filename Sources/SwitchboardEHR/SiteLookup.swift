import SwitchboardCore
import SwitchboardHTTP

/// A free slot as a slot picker offers it: `Slot/<id>` in the site's EHR.
public struct OpenSlot: Sendable, Equatable {
    public var ref: String
    public var start: UnixMillis
    public var end: UnixMillis
}

/// What a person's tools ask the site's EHR directly, on the site's pathway: the providers,
/// a provider's free slots, an appointment as it is now. FHIR sites (and HL7 v2 sites,
/// whose interface engine answers queries over FHIR) use `FHIRClient`; REST sites the
/// vendor API, with its own ids (`Practitioner/3`, `Slot/4521`, `Appointment/17`).
public struct SiteLookup: Sendable {
    public let pathway: Transport
    let fhir: FHIRClient
    let rest: RESTClient?

    /// `baseURL` is the FHIR base, or on a REST site the vendor API's practice base.
    public init(pathway: Transport, baseURL: String, http: HTTPClient, auth: (any AccessTokenSource)?, timeout: Duration?) {
        self.pathway = pathway
        fhir = FHIRClient(baseURL: baseURL, http: http, auth: auth, timeout: timeout)
        rest = pathway == .rest ? RESTClient(baseURL: baseURL, http: http, auth: auth, timeout: timeout) : nil
    }

    public func practitioners() async throws(FHIRError) -> [Practitioner] {
        if let rest { return try await rest.providers().value.map(\.practitioner) }
        return try await fhir.practitioners().value
    }

    /// Free slots of a provider (`Practitioner/…`) starting in [from, to), earliest first.
    public func freeSlots(providerRef: String, from: UnixMillis, to: UnixMillis) async throws(FHIRError) -> [OpenSlot] {
        if let rest {
            let provider = String(providerRef.split(separator: "/").last ?? "")
            return try await rest.openSlots(providerID: provider, from: from, to: to).value.compactMap { slot in
                guard let start = slot.start, let end = slot.end else { return nil }
                return OpenSlot(ref: "Slot/\(slot.appointmentid)", start: start, end: end)
            }
        }
        var found: [OpenSlot] = []
        for schedule in try await fhir.schedules(actor: providerRef).value {
            guard let id = schedule.id else { continue }
            let slots = try await fhir.searchSlots(schedule: "Schedule/\(id)", from: FHIRInstant(millis: from),
                                                   to: FHIRInstant(millis: to), status: .free).value
            found += slots.compactMap { slot in slot.id.map { OpenSlot(ref: "Slot/\($0)", start: slot.start.millis, end: slot.end.millis) } }
        }
        return found.sorted { $0.start < $1.start }
    }

    /// The appointment as the EHR holds it now, in FHIR's shape, with its version.
    public func appointment(id: String) async throws(FHIRError) -> (appointment: Appointment, version: String?) {
        if let rest {
            let read = try await rest.appointment(id: id)
            return (read.value.appointment, read.value.version)
        }
        let read = try await fhir.readAppointment(id: id)
        return (read.value, read.versionId ?? read.value.meta?.versionId)
    }
}
