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
    /// On the site's pathway (FHIR, or the vendor's REST API).
    let site: SiteLookup

    init(site: SiteLookup) { self.site = site }

    /// The configured EHR (base URL, and OAuth client credentials if any), or nil.
    public init?(configuration c: ConsoleConfiguration, http: HTTPClient = ConsoleRunner.sharedHTTP) {
        guard let base = c.ehrBaseURL else { return nil }
        // An EHR signed by the site's own CA: a client that trusts that CA (and still checks the host).
        let http = c.ehrCAFile.map { HTTPClient(configuration: .init(caFile: $0)) } ?? http
        var auth: (any AccessTokenSource)?
        if let tokenURL = c.ehrTokenURL, let client = c.ehrClientID, let keyFile = c.ehrKeyFile, let keyID = c.ehrKeyID {
            auth = OAuthClientCredentials(tokenURL: tokenURL, clientID: client, secretFile: keyFile,
                                          clientAuthentication: .privateKeyJWT(keyID: keyID), http: http)
        } else if let tokenURL = c.ehrTokenURL, let client = c.ehrClientID, let secretFile = c.ehrSecretFile {
            auth = OAuthClientCredentials(tokenURL: tokenURL, clientID: client, secretFile: secretFile, http: http)
        }
        site = SiteLookup(pathway: c.ehrPathway, baseURL: base, http: http, auth: auth, timeout: .seconds(10))
    }

    func providerDirectory() async throws(FHIRError) -> ProviderDirectory {
        ProviderDirectory(practitioners: try await site.practitioners())
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
        let found = try await site.freeSlots(providerRef: providerRef, from: from, to: from + Int64(days) * 86_400_000)
        return found.prefix(limit).map { FreeSlot(ref: $0.ref, start: $0.start, end: $0.end) }
    }

    public func appointment(_ ref: String) async throws(FHIRError) -> AppointmentNow {
        let id = String(ref.split(separator: "/").last ?? Substring(ref))
        let (a, version) = try await site.appointment(id: id)
        let actors = a.participant.compactMap { $0.actor?.reference }
        return AppointmentNow(version: version ?? "?", status: a.status.rawValue,
                              start: a.start?.millis, end: a.end?.millis,
                              providerRef: actors.first { $0.hasPrefix("Practitioner/") },
                              appointmentType: a.appointmentType?.coding?.first?.code, resource: a)
    }
}