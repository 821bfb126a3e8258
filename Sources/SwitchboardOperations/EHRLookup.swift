import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP

/// A free slot offered in the correction form.
public struct FreeSlot: Sendable, Equatable {
    public var ref: String
    public var start: UnixMillis
    public var end: UnixMillis

    public init(ref: String, start: UnixMillis, end: UnixMillis) {
        self.ref = ref
        self.start = start
        self.end = end
    }
}

/// An EHR request from the console or a command that failed, in words for the manager.
public struct EHRFailure: Error, Sendable, Equatable {
    public var text: String
    public init(text: String) { self.text = text }
}

/// What the Review screen asks the EHR directly, over libcurl: the practice's providers,
/// free slots for the correction form (`Slot?schedule&start&status=free` via the
/// provider's schedule), and an appointment as it is now, after the EHR refused a
/// correction with 412.
public struct EHRLookup: Sendable {
    public let fhir: FHIRClient

    public init(fhir: FHIRClient) { self.fhir = fhir }

    /// The configured EHR (base URL, and OAuth client credentials if any), or nil. The
    /// credentials' tokens go only to the EHR they are configured for (`FHIRClient`
    /// refuses to send them to another base URL given with `--ehr`).
    public init?(configuration c: ConsoleConfiguration, http: HTTPClient) {
        guard let base = c.ehrBaseURL else { return nil }
        var auth: (any AccessTokenSource)?
        if let configured = c.ehrCredentialsBaseURL ?? c.ehrBaseURL, let tokenURL = c.ehrTokenURL, let client = c.ehrClientID, let secretFile = c.ehrSecretFile {
            auth = OAuthClientCredentials(tokenURL: tokenURL, audience: configured, clientID: client, secretFile: secretFile, http: http)
        }
        fhir = FHIRClient(baseURL: base, http: http, auth: auth, timeout: .seconds(10))
    }

    public func providerDirectory() async throws(FHIRError) -> ProviderDirectory {
        ProviderDirectory(practitioners: try await fhir.practitioners().value)
    }

    public func freeSlots(providerRef: String, from: UnixMillis, days: Int = 7, limit: Int = 60) async throws(FHIRError) -> [FreeSlot] {
        let schedules = try await fhir.schedules(actor: providerRef).value
        var found: [FreeSlot] = []
        for schedule in schedules {
            guard let id = schedule.id else { continue }
            let slots = try await fhir.searchSlots(schedule: "Schedule/\(id)", from: FHIRInstant(millis: from),
                                                   to: FHIRInstant(millis: from + Int64(days) * 86_400_000), status: .free).value
            found += slots.compactMap { slot in slot.id.map { FreeSlot(ref: "Slot/\($0)", start: slot.start.millis, end: slot.end.millis) } }
        }
        return Array(found.sorted { $0.start < $1.start }.prefix(limit))
    }

    public func appointment(_ ref: String) async throws(FHIRError) -> AppointmentNow {
        let id = String(ref.split(separator: "/").last ?? Substring(ref))
        let result = try await fhir.readAppointment(id: id)
        let a = result.value
        let actors = a.participant.compactMap { $0.actor?.reference }
        guard let version = result.versionId ?? a.meta?.versionId.flatMap(FHIRClient.versionToken) else {
            throw .invalidResponse("the EHR gave \(ref) no usable version (a FHIR id token)")
        }
        return AppointmentNow(version: version, status: a.status.rawValue,
                              start: a.start?.millis, end: a.end?.millis,
                              providerRef: actors.first { $0.hasPrefix("Practitioner/") },
                              appointmentType: a.appointmentType?.coding?.first?.code, resource: a)
    }
}