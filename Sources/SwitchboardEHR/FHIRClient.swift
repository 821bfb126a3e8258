import Foundation
import SwitchboardCore
import SwitchboardHTTP

/// One HTTP request a `FHIRClient` made: what the caller writes as one audit row.
/// Holds no query string and no headers, so no PHI search terms and no token.
public struct FHIRExchange: Sendable, Equatable {
    public var method: String
    public var resourceType: String
    public var resourceId: String?
    /// nil when no response came back.
    public var httpStatus: Int?
    public var latencyMs: Int
    /// 1 for the first try, 2 for the retry after a token renewal.
    public var attempt: Int
    public var error: FHIRError?
}

/// A FHIR operation's value with what the audit and the next write need.
public struct FHIRResult<Value: Sendable>: Sendable {
    public var value: Value
    /// Status of the last response.
    public var httpStatus: Int
    /// Wall time of the whole operation (all pages, any retry), milliseconds.
    public var latencyMs: Int
    /// The version to send as `If-Match`: from the ETag (`W/"3"` → `3`) or `meta.versionId`.
    public var versionId: String?
    /// `Location` of a created resource.
    public var location: String?
}

/// A FHIR R4 REST client for scheduling: typed reads, searches and conditional writes.
///
/// A struct over a shared `HTTPClient`: copies are cheap, so a caller can make one per
/// phone call that reports its exchanges to that call's audit trail.
///
/// ```swift
/// let fhir = FHIRClient(baseURL: "https://ehr.example/fhir", http: http, auth: auth)
///     .reporting { exchange in audit.append(callId: id, exchange) }
/// let slots = try await fhir.searchSlots(schedule: "Schedule/dr-lee", from: start, to: end)
/// let booked = try await fhir.createAppointment(appointment, ifNoneExist: "identifier=call|\(id)",
///                                               idempotencyKey: id)
/// ```
public struct FHIRClient: Sendable {
    public let baseURL: String
    private var requests: AuthorizedExchange

    /// - Parameter timeout: per request; nil takes the HTTP client's default.
    public init(baseURL: String, http: HTTPClient, auth: (any AccessTokenSource)? = nil, timeout: Duration? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        requests = AuthorizedExchange(http: http, auth: auth, timeout: timeout, refusal: { FHIRError.from($0) })
    }

    /// A copy that calls `observer` after every HTTP request, failed ones included.
    public func reporting(to observer: @escaping @Sendable (FHIRExchange) -> Void) -> FHIRClient {
        var copy = self
        copy.requests.observer = observer
        return copy
    }

    // MARK: Operations

    public func capabilities() async throws(FHIRError) -> FHIRResult<CapabilityStatement> {
        try await read(CapabilityStatement.self, path: "metadata")
    }

    /// Patients by any of family name, birth date (`YYYY-MM-DD`) and phone.
    public func searchPatients(family: String? = nil, birthDate: String? = nil, phone: String? = nil,
                               maxPages: Int = 3) async throws(FHIRError) -> FHIRResult<[Patient]> {
        var query: [(String, String)] = []
        if let family { query.append(("family", family)) }
        if let birthDate { query.append(("birthdate", birthDate)) }
        if let phone { query.append(("phone", phone)) }
        return try await search(Patient.self, query, maxPages: maxPages)
    }

    public func practitioners(maxPages: Int = 5) async throws(FHIRError) -> FHIRResult<[Practitioner]> {
        try await search(Practitioner.self, [], maxPages: maxPages)
    }

    /// Schedules, optionally only those of one actor (`Practitioner/p1`).
    public func schedules(actor: String? = nil, maxPages: Int = 5) async throws(FHIRError) -> FHIRResult<[Schedule]> {
        try await search(Schedule.self, actor.map { [("actor", $0)] } ?? [], maxPages: maxPages)
    }

    /// Slots of `schedule` (`Schedule/s1`) starting in [from, to), following `next` links
    /// up to `maxPages` pages.
    public func searchSlots(schedule: String, from: FHIRInstant, to: FHIRInstant, status: SlotStatus? = .free,
                            maxPages: Int = 10) async throws(FHIRError) -> FHIRResult<[Slot]> {
        var query = [("schedule", schedule), ("start", "ge" + from.text), ("start", "lt" + to.text)]
        if let status { query.append(("status", status.rawValue)) }
        return try await search(Slot.self, query, maxPages: maxPages)
    }

    /// Appointments by patient and/or practitioner (`Patient/p1`), date range and status.
    public func searchAppointments(patient: String? = nil, practitioner: String? = nil, from: FHIRInstant? = nil,
                                   to: FHIRInstant? = nil, status: AppointmentStatus? = nil,
                                   maxPages: Int = 5) async throws(FHIRError) -> FHIRResult<[Appointment]> {
        var query: [(String, String)] = []
        if let patient { query.append(("patient", patient)) }
        if let practitioner { query.append(("practitioner", practitioner)) }
        if let from { query.append(("date", "ge" + from.text)) }
        if let to { query.append(("date", "lt" + to.text)) }
        if let status { query.append(("status", status.rawValue)) }
        return try await search(Appointment.self, query, maxPages: maxPages)
    }

    /// Creates an appointment. `ifNoneExist` (a search query such as
    /// `identifier=urn:call|c-17`) makes a retried create return the first one instead of
    /// booking twice; `idempotencyKey` goes as `Idempotency-Key` for servers that honour it.
    public func createAppointment(_ appointment: Appointment, ifNoneExist: String? = nil,
                                  idempotencyKey: String? = nil) async throws(FHIRError) -> FHIRResult<Appointment> {
        try await create(appointment, ifNoneExist: ifNoneExist, idempotencyKey: idempotencyKey)
    }

    public func readAppointment(id: String) async throws(FHIRError) -> FHIRResult<Appointment> {
        try await read(Appointment.self, path: "Appointment/\(pathSegment(id))", resourceId: id)
    }

    /// Updates an appointment only if the server still has version `ifMatch` (a versionId
    /// such as `3`, or an ETag `W/"3"`); a newer version fails with `.preconditionFailed`.
    public func updateAppointment(_ appointment: Appointment, ifMatch: String) async throws(FHIRError) -> FHIRResult<Appointment> {
        guard let id = appointment.id else { throw .invalidResponse("an appointment to update needs an id") }
        let etag = ifMatch.hasPrefix("W/") || ifMatch.hasPrefix("\"") ? ifMatch : "W/\"\(ifMatch)\""
        let body = try encode(appointment)
        let (response, latency) = try await exchange("PUT", url: url("Appointment/\(pathSegment(id))"),
                                                     resourceType: Appointment.resourceType, resourceId: id,
                                                     headers: ["If-Match": etag], body: body)
        return try result(Appointment.self, response, latency: latency, fallback: appointment)
    }

    /// Registers a patient. `ifNoneExist` (e.g. `identifier=urn:caller|c-17`) makes a retry
    /// return the patient the first try made.
    public func createPatient(_ patient: Patient, ifNoneExist: String? = nil,
                              idempotencyKey: String? = nil) async throws(FHIRError) -> FHIRResult<Patient> {
        try await create(patient, ifNoneExist: ifNoneExist, idempotencyKey: idempotencyKey)
    }

    /// Updates a patient's demographics only if the server still has version `ifMatch`.
    public func updatePatient(_ patient: Patient, ifMatch: String) async throws(FHIRError) -> FHIRResult<Patient> {
        guard let id = patient.id else { throw .invalidResponse("a patient to update needs an id") }
        let etag = ifMatch.hasPrefix("W/") || ifMatch.hasPrefix("\"") ? ifMatch : "W/\"\(ifMatch)\""
        let (response, latency) = try await exchange("PUT", url: url("Patient/\(pathSegment(id))"), resourceType: Patient.resourceType,
                                                     resourceId: id, headers: ["If-Match": etag], body: try encode(patient))
        return try result(Patient.self, response, latency: latency, fallback: patient)
    }

    public func readCoverage(id: String) async throws(FHIRError) -> FHIRResult<Coverage> {
        try await read(Coverage.self, path: "Coverage/\(pathSegment(id))", resourceId: id)
    }

    /// Coverage of a patient (`Patient/p1`).
    public func searchCoverage(beneficiary: String, maxPages: Int = 2) async throws(FHIRError) -> FHIRResult<[Coverage]> {
        try await search(Coverage.self, [("beneficiary", beneficiary)], maxPages: maxPages)
    }

    /// Asks the payer, through the EHR, whether a coverage is in force (R4 `CoverageEligibilityRequest`
    /// POSTed to `$submit`; the answer is the `CoverageEligibilityResponse`). A read: nothing in the chart changes.
    public func checkEligibility(_ request: CoverageEligibilityRequest) async throws(FHIRError) -> FHIRResult<CoverageEligibilityResponse> {
        let (response, latency) = try await exchange("POST", url: url(CoverageEligibilityRequest.resourceType + "/$submit"),
                                                     resourceType: CoverageEligibilityRequest.resourceType,
                                                     resourceId: request.insurance?.first?.coverage.id, body: try encode(request))
        return try result(CoverageEligibilityResponse.self, response, latency: latency, fallback: nil)
    }

    /// Asks the care team to act (a refill request).
    public func createTask(_ task: FHIRTask, ifNoneExist: String? = nil,
                           idempotencyKey: String? = nil) async throws(FHIRError) -> FHIRResult<FHIRTask> {
        try await create(task, ifNoneExist: ifNoneExist, idempotencyKey: idempotencyKey)
    }

    /// Writes a call note to the chart.
    public func createCommunication(_ communication: Communication, ifNoneExist: String? = nil,
                                    idempotencyKey: String? = nil) async throws(FHIRError) -> FHIRResult<Communication> {
        try await create(communication, ifNoneExist: ifNoneExist, idempotencyKey: idempotencyKey)
    }

    // MARK: Interactions

    private func read<R: FHIRResourceType>(_ type: R.Type, path: String,
                                           resourceId: String? = nil) async throws(FHIRError) -> FHIRResult<R> {
        let (response, latency) = try await exchange("GET", url: url(path), resourceType: R.resourceType,
                                                     resourceId: resourceId)
        return try result(R.self, response, latency: latency, fallback: nil)
    }

    private func create<R: FHIRResourceType>(_ resource: R, ifNoneExist: String?,
                                             idempotencyKey: String?) async throws(FHIRError) -> FHIRResult<R> {
        var headers: HTTPHeaders = ["Prefer": "return=representation"]
        if let ifNoneExist { headers["If-None-Exist"] = ifNoneExist }
        if let idempotencyKey { headers["Idempotency-Key"] = idempotencyKey }
        let (response, latency) = try await exchange("POST", url: url(R.resourceType), resourceType: R.resourceType,
                                                     headers: headers, body: try encode(resource))
        return try result(R.self, response, latency: latency, fallback: resource)
    }

    /// A search-type interaction that follows `next` links, collecting resources of type `R`
    /// (included resources of other types are skipped).
    private func search<R: FHIRResourceType>(_ type: R.Type, _ query: [(String, String)],
                                             maxPages: Int) async throws(FHIRError) -> FHIRResult<[R]> {
        var next: String? = url(R.resourceType, query: query)
        var found: [R] = []
        var total = 0, status = 0, pages = 0
        while let page = next, pages < maxPages {
            let (response, latency) = try await exchange("GET", url: page, resourceType: R.resourceType)
            let bundle: Bundle
            do { bundle = try FHIRJSON.decode(Bundle.self, from: response.body) } catch {
                throw .invalidResponse("search for \(R.resourceType) did not return a Bundle")
            }
            for resource in bundle.resources {
                if let match = Self.unwrap(resource, as: R.self) { found.append(match) }
            }
            total += latency; status = response.status; pages += 1
            next = bundle.nextURL
            // The bearer token must not follow a link to another server.
            if let link = next, !link.hasPrefix(baseURL + "/") && !link.hasPrefix(baseURL + "?") {
                throw .invalidResponse("next link points outside \(baseURL)")
            }
        }
        return FHIRResult(value: found, httpStatus: status, latencyMs: total, versionId: nil, location: nil)
    }

    private static func unwrap<R: FHIRResourceType>(_ resource: FHIRResource, as _: R.Type) -> R? {
        switch resource {
        case .patient(let r): r as? R
        case .practitioner(let r): r as? R
        case .schedule(let r): r as? R
        case .slot(let r): r as? R
        case .appointment(let r): r as? R
        case .coverage(let r): r as? R
        case .communication(let r): r as? R
        default: nil
        }
    }

    /// Decodes a success body into `R`; an empty body (server ignored `Prefer`) gives
    /// `fallback` with the id and version from `Location` and `ETag`.
    private func result<R: FHIRResourceType>(_ type: R.Type, _ response: HTTPResponse, latency: Int,
                                             fallback: R?) throws(FHIRError) -> FHIRResult<R> {
        let location = response.headers["Location"] ?? response.headers["Content-Location"]
        // A version from the EHR is kept only if it is a FHIR id token: it is printed,
        // stored in the audit and sent back as If-Match.
        var version = response.headers["ETag"].map(Self.versionFromETag).flatMap(Self.versionToken)
        let value: R
        if response.body.isEmpty, let fallback {
            value = fallback
            version = version ?? location.flatMap(Self.versionFromLocation).flatMap(Self.versionToken)
        } else {
            do { value = try FHIRJSON.decode(R.self, from: response.body) } catch {
                throw .invalidResponse("expected \(R.resourceType)")
            }
            version = version ?? value.meta?.versionId.flatMap(Self.versionToken)
        }
        return FHIRResult(value: value, httpStatus: response.status, latencyMs: latency, versionId: version,
                          location: location)
    }

    /// `version` if it is a FHIR id (`[A-Za-z0-9-.]{1,64}`), else nil.
    public static func versionToken(_ version: String) -> String? {
        let ok = (1...64).contains(version.utf8.count) && version.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x2E
        }
        return ok ? version : nil
    }

    /// `W/"3"` → `3`.
    static func versionFromETag(_ etag: String) -> String {
        var text = Substring(etag.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return String(text.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    }

    /// `…/Appointment/a1/_history/3` → `3`.
    static func versionFromLocation(_ location: String) -> String? {
        let parts = location.split(separator: "/")
        guard let index = parts.lastIndex(of: "_history"), index + 1 < parts.count else { return nil }
        return String(parts[index + 1])
    }

    // MARK: HTTP

    /// One request with the bearer token (see `AuthorizedExchange`).
    private func exchange(_ method: String, url: String, resourceType: String, resourceId: String? = nil,
                          headers extra: HTTPHeaders = [:],
                          body: Data? = nil) async throws(FHIRError) -> (HTTPResponse, Int) {
        var headers = extra
        headers["Accept"] = FHIRJSON.contentType
        if body != nil { headers["Content-Type"] = FHIRJSON.contentType }
        return try await requests.send(method, url: url, resourceType: resourceType, resourceId: resourceId, headers: headers, body: body)
    }

    private func url(_ path: String, query: [(String, String)] = []) -> String {
        let base = "\(baseURL)/\(path)"
        guard !query.isEmpty else { return base }
        return base + "?" + query.map { "\($0)=\(percentEncode($1, keeping: ":/|,"))" }.joined(separator: "&")
    }

    private func pathSegment(_ id: String) -> String { percentEncode(id, keeping: "") }

    private func encode(_ resource: some Encodable) throws(FHIRError) -> Data {
        do { return try FHIRJSON.encode(resource) } catch { throw .invalidResponse("could not encode the resource") }
    }
}
