import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP

/// A free slot offered in the correction form.
public struct FreeSlot: Sendable, Equatable {
    var ref: String
    var start: UnixMillis
    var end: UnixMillis
}

/// What the Review screen asks the EHR directly, over libcurl: the practice's providers,
/// free slots for the correction form (`Slot?schedule&start&status=free` via the
/// provider's schedule), and an appointment as it is now, after the EHR refused a
/// correction with 412.
public struct EHRLookup: Sendable {
    let fhir: FHIRClient

    init(fhir: FHIRClient) { self.fhir = fhir }

    /// The configured EHR (base URL, and OAuth client credentials if any), or nil. The
    /// credentials' tokens go only to the EHR they are configured for (`FHIRClient`
    /// refuses to send them to another base URL given with `--ehr`).
    public init?(configuration c: ConsoleConfiguration, http: HTTPClient = ConsoleRunner.sharedHTTP) {
        guard let base = c.ehrBaseURL else { return nil }
        var auth: (any AccessTokenSource)?
        if let configured = c.ehrCredentialsBaseURL ?? c.ehrBaseURL, let tokenURL = c.ehrTokenURL, let client = c.ehrClientID, let secretFile = c.ehrSecretFile {
            auth = OAuthClientCredentials(tokenURL: tokenURL, audience: configured, clientID: client, secretFile: secretFile, http: http)
        }
        fhir = FHIRClient(baseURL: base, http: http, auth: auth, timeout: .seconds(10))
    }

    func providerDirectory() async throws(FHIRError) -> ProviderDirectory {
        ProviderDirectory(practitioners: try await fhir.practitioners().value)
    }

    /// The practice's providers as the console message every screen receives.
    func providersFound() async -> ConsoleMessage {
        do {
            return .providersFound(.success(try await providerDirectory()))
        } catch {
            return .providersFound(.failure(EHRFailure(text: "\(error)")))
        }
    }

    func freeSlots(providerRef: String, from: UnixMillis, days: Int = 7, limit: Int = 60) async throws(FHIRError) -> [FreeSlot] {
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