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
    /// On the site's pathway (FHIR, or the vendor's REST API).
    let site: SiteLookup

    public init(site: SiteLookup) { self.site = site }

    /// How the site's EHR is reached (the `transport` of the reads' audit rows).
    public var pathway: Transport { site.pathway }

    /// The configured EHR (base URL, and OAuth client credentials if any), or nil. The
    /// credentials' tokens go only to the EHR they are configured for (`FHIRClient`
    /// refuses to send them to another base URL given with `--ehr`).
    /// `http` is only made when an EHR is configured: a client starts libcurl and its
    /// thread, start-up time a console without an EHR would spend for nothing.
    public init?(configuration c: ConsoleConfiguration, http: @autoclosure () -> HTTPClient) {
        guard let base = c.ehrBaseURL else { return nil }
        // An EHR signed by the site's own CA: a client that trusts that CA (and still checks the host).
        let http = (c.ehrCAFile ?? c.caFile).map { HTTPClient(configuration: .init(caFile: $0)) } ?? http()
        var auth: (any AccessTokenSource)?
        // Tokens go only to the EHR they are configured for (`--ehr` moves the base URL, not them).
        let audience = c.ehrCredentialsBaseURL ?? base
        if let tokenURL = c.ehrTokenURL, let client = c.ehrClientID, let keyFile = c.ehrKeyFile, let keyID = c.ehrKeyID {
            auth = OAuthClientCredentials(tokenURL: tokenURL, audience: audience, clientID: client, secretFile: keyFile,
                                          clientAuthentication: .privateKeyJWT(keyID: keyID), http: http)
        } else if let tokenURL = c.ehrTokenURL, let client = c.ehrClientID, let secretFile = c.ehrSecretFile {
            auth = OAuthClientCredentials(tokenURL: tokenURL, audience: audience, clientID: client, secretFile: secretFile, http: http)
        }
        site = SiteLookup(pathway: c.ehrPathway, baseURL: base, http: http, auth: auth, timeout: .seconds(10))
    }

    public func providerDirectory() async throws(FHIRError) -> ProviderDirectory {
        ProviderDirectory(practitioners: try await site.practitioners())
    }

    public func freeSlots(providerRef: String, from: UnixMillis, days: Int = 7, limit: Int = 60) async throws(FHIRError) -> [FreeSlot] {
        let found = try await site.freeSlots(providerRef: providerRef, from: from, to: from + Int64(days) * 86_400_000)
        return found.prefix(limit).map { FreeSlot(ref: $0.ref, start: $0.start, end: $0.end) }
    }

    public func appointment(_ ref: String) async throws(FHIRError) -> AppointmentNow {
        let id = String(ref.split(separator: "/").last ?? Substring(ref))
        let (a, version) = try await site.appointment(id: id)
        let actors = a.participant.compactMap { $0.actor?.reference }
        guard let version = version.flatMap(FHIRClient.versionToken) else {
            throw .invalidResponse("the EHR gave \(ref) no usable version (a FHIR id token)")
        }
        return AppointmentNow(version: version, status: a.status.rawValue,
                              start: a.start?.millis, end: a.end?.millis,
                              providerRef: actors.first { $0.hasPrefix("Practitioner/") },
                              appointmentType: a.appointmentType?.coding?.first?.code, resource: a)
    }
}