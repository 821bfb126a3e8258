import Foundation
import SwitchboardCore
import SwitchboardHTTP

/// A client for a vendor's practice-scoped REST API in athenahealth's style: reads by query
/// string with `limit`/`offset` paging, writes form-encoded (built by `RESTRequests`, sent
/// as outbox requests), errors as `{"error": …}` mapped to the same `FHIRError` cases the
/// FHIR pathway uses, so the agent and the outbox treat both alike.
///
/// ```swift
/// let rest = RESTClient(baseURL: "https://api.example/v1/195900", http: http, auth: auth)
/// let slots = try await rest.openSlots(providerID: "3", from: start, to: end).value
/// let booked = try await rest.send(RESTRequests.book(slotID: slots[0].appointmentid, patientID: "17",
///                                                    appointmentType: nil, externalID: "b-1", idempotencyKey: "b-1"))
/// ```
public struct RESTClient: Sendable {
    public let baseURL: String
    private var requests: AuthorizedExchange

    public init(baseURL: String, http: HTTPClient, auth: (any AccessTokenSource)? = nil, timeout: Duration? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        requests = AuthorizedExchange(http: http, auth: auth, timeout: timeout, refusal: { response in
            let message = ((try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any])?["error"] as? String
            return FHIRError.from(response, diagnostics: message ?? "no error message")
        })
    }

    /// A copy that calls `observer` after every HTTP request, failed ones included.
    public func reporting(to observer: @escaping @Sendable (FHIRExchange) -> Void) -> RESTClient {
        var copy = self
        copy.requests.observer = observer
        return copy
    }

    // MARK: Reads

    public func providers() async throws(FHIRError) -> FHIRResult<[RESTProvider]> {
        try await list("providers", [], key: "providers", resourceType: "Practitioner", maxPages: 5)
    }

    /// Patients by last name (prefix), birth date (`YYYY-MM-DD`, sent as `MM/DD/YYYY`) and phone.
    public func searchPatients(lastName: String? = nil, birthDate: String? = nil, phone: String? = nil,
                               maxPages: Int = 3) async throws(FHIRError) -> FHIRResult<[RESTPatient]> {
        var query: [(String, String)] = []
        if let lastName { query.append(("lastname", lastName)) }
        if let birthDate { query.append(("dob", RESTDates.usDate(fromISO: birthDate) ?? birthDate)) }
        if let phone { query.append(("mobilephone", phone)) }
        return try await list("patients", query, key: "patients", resourceType: "Patient", maxPages: maxPages)
    }

    /// Free slots of a provider starting in [from, to).
    public func openSlots(providerID: String, from: UnixMillis, to: UnixMillis,
                          maxPages: Int = 10) async throws(FHIRError) -> FHIRResult<[RESTAppointment]> {
        let query = [("providerid", providerID), ("startdate", RESTDates.usDate(from)), ("enddate", RESTDates.usDate(to - 1))]
        var found: FHIRResult<[RESTAppointment]> = try await list("appointments/open", query, key: "appointments", resourceType: "Slot", maxPages: maxPages)
        found.value.removeAll { slot in slot.start.map { $0 < from || $0 >= to } ?? true }
        return found
    }

    /// A patient's booked (not cancelled) appointments.
    public func bookedAppointments(patientID: String, maxPages: Int = 5) async throws(FHIRError) -> FHIRResult<[RESTAppointment]> {
        try await list("appointments/booked", [("patientid", patientID)], key: "appointments", resourceType: "Appointment",
                       maxPages: maxPages)
    }

    public func insurances(patientID: String) async throws(FHIRError) -> FHIRResult<[RESTInsurance]> {
        try await list("patients/\(percentEncode(patientID, keeping: ""))/insurances", [], key: "insurances", resourceType: "Coverage",
                       maxPages: 2)
    }

    public func appointment(id: String) async throws(FHIRError) -> FHIRResult<RESTAppointment> {
        let (response, latency) = try await exchange("GET", url: url("appointments/\(percentEncode(id, keeping: ""))"),
                                                     resourceType: "Appointment", resourceId: id)
        guard let first = try? JSONDecoder().decode([RESTAppointment].self, from: response.body).first else {
            throw .invalidResponse("expected an appointment")
        }
        return FHIRResult(value: first, httpStatus: response.status, latencyMs: latency, versionId: first.version, location: nil)
    }

    // MARK: Writes

    /// Sends a write built by `RESTRequests` (as the outbox holds it) and returns the first
    /// object of the answer, e.g. the appointment booked or moved.
    public func send(_ request: OutboxRequest) async throws(FHIRError) -> FHIRResult<[String: String]> {
        let parts = request.url.split(separator: "/").map(String.init)
        let resourceType = parts.first == "notes" ? "Communication" : parts.first == "patients" ? "Patient" : "Appointment"
        let resourceId = parts.count > 1 ? parts[1] : nil
        var headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded"]
        if let key = request.headers["Idempotency-Key"] { headers["Idempotency-Key"] = key }
        let (response, latency) = try await exchange(request.method, url: url(request.url), resourceType: resourceType,
                                                     resourceId: resourceId, headers: headers, body: Data(request.body.utf8))
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [[String: Any]]
        let fields = (object?.first ?? [:]).mapValues { "\($0)" }
        return FHIRResult(value: fields, httpStatus: response.status, latencyMs: latency, versionId: fields["version"], location: nil)
    }

    // MARK: HTTP

    private func list<R: Decodable & Sendable>(_ path: String, _ query: [(String, String)], key: String, resourceType: String,
                                               maxPages: Int) async throws(FHIRError) -> FHIRResult<[R]> {
        var next: String? = url(path, query: query)
        var found: [R] = []
        var total = 0, status = 0, pages = 0
        while let page = next, pages < maxPages {
            let (response, latency) = try await exchange("GET", url: page, resourceType: resourceType)
            guard let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any],
                  let items = object[key], let data = try? JSONSerialization.data(withJSONObject: items),
                  let decoded = try? JSONDecoder().decode([R].self, from: data)
            else { throw .invalidResponse("\(path) did not answer a list of \(key)") }
            found += decoded
            total += latency; status = response.status; pages += 1
            // `next` is a path on the same server; the token never goes anywhere else.
            next = (object["next"] as? String).map { origin + $0 }
        }
        return FHIRResult(value: found, httpStatus: status, latencyMs: total, versionId: nil, location: nil)
    }

    /// `https://host:port` of the base URL.
    private var origin: String {
        guard let scheme = baseURL.range(of: "://"),
              let slash = baseURL[scheme.upperBound...].firstIndex(of: "/") else { return baseURL }
        return String(baseURL[..<slash])
    }

    /// One request with the bearer token (see `AuthorizedExchange`).
    private func exchange(_ method: String, url: String, resourceType: String, resourceId: String? = nil,
                          headers extra: HTTPHeaders = [:], body: Data? = nil) async throws(FHIRError) -> (HTTPResponse, Int) {
        var headers = extra
        headers["Accept"] = "application/json"
        return try await requests.send(method, url: url, resourceType: resourceType, resourceId: resourceId, headers: headers, body: body)
    }

    private func url(_ path: String, query: [(String, String)] = []) -> String {
        let base = "\(baseURL)/\(path)"
        guard !query.isEmpty else { return base }
        return base + "?" + query.map { "\($0)=\(percentEncode($1, keeping: ""))" }.joined(separator: "&")
    }
}
