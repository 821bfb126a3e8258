import Foundation
import SwitchboardEHR
import SwitchboardHTTP
import SwitchboardTesting
import Testing

private func json(_ resource: some Encodable, status: Int = 200, _ headers: [String: String] = [:]) throws -> LoopbackPeer.Reply {
    .full(status: status, headers: headers.merging(["Content-Type": "application/fhir+json"]) { a, _ in a },
          body: try FHIRJSON.encode(resource))
}

private func outcome(_ status: Int, _ text: String, _ headers: [String: String] = [:]) throws -> LoopbackPeer.Reply {
    try json(OperationOutcome(.error, .processing, text), status: status, headers)
}

private let start = FHIRInstant("2026-12-01T09:00:00Z")!
private let end = FHIRInstant("2026-12-01T17:00:00Z")!

private func slot(_ id: String) -> Slot {
    Slot(id: id, schedule: "Schedule/s1", status: .free, start: start, end: FHIRInstant(millis: start.millis + 900_000))
}

private func appointment(id: String? = nil, version: String? = nil) -> Appointment {
    Appointment(id: id, meta: version.map { Meta(versionId: $0) }, status: .booked, start: start,
                end: FHIRInstant(millis: start.millis + 900_000), slot: ["Slot/a"],
                participant: [AppointmentParticipant(actor: "Patient/p1", status: .accepted)])
}

@Suite struct FHIRClientTests {
    @Test func capabilitiesAskForFHIRJSON() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/metadata") { request in
            #expect(request.header("Accept") == "application/fhir+json")
            return try json(CapabilityStatement(status: .active, date: "2026-11-25", kind: .instance))
        }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir/", http: HTTPClient())
        let result = try await fhir.capabilities()
        #expect(result.value.fhirVersion == "4.0.1")
        #expect(result.httpStatus == 200)
        #expect(result.latencyMs >= 0)
    }

    @Test func patientSearchSendsTheParameters() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/Patient") { request in
            #expect(request.query["family"] == "Nuñez")
            #expect(request.query["birthdate"] == "1980-02-29")
            #expect(request.query["phone"] == "+15550142")
            let patient = Patient(id: "p1", name: [HumanName(family: "Nuñez", given: ["Ana"])])
            return try json(Bundle(type: .searchset, entry: [.init(resource: .patient(patient))]))
        }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
        let found = try await fhir.searchPatients(family: "Nuñez", birthDate: "1980-02-29", phone: "+15550142")
        #expect(found.value.map(\.id) == ["p1"])
    }

    @Test func slotSearchFollowsNextLinksUpToTheLimit() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        let base = peer.baseURL + "/fhir"
        await peer.route("GET /fhir/Slot") { request in
            let page = Int(request.query["page"] ?? "1")!
            if page == 1 {
                #expect(request.query["schedule"] == "Schedule/s1")
                #expect(request.queryItems.filter { $0.name == "start" }.map(\.value)
                        == ["ge2026-12-01T09:00:00Z", "lt2026-12-01T17:00:00Z"])
                #expect(request.query["status"] == "free")
            }
            let entries = (0..<2).map { Bundle.Entry(resource: .slot(slot("p\(page)-\($0)"))) }
            return try json(Bundle(type: .searchset, link: [.init(relation: "next", url: "\(base)/Slot?page=\(page + 1)")],
                                   entry: entries))
        }
        let fhir = FHIRClient(baseURL: base, http: HTTPClient())
        let result = try await fhir.searchSlots(schedule: "Schedule/s1", from: start, to: end, maxPages: 3)
        #expect(result.value.compactMap(\.id) == ["p1-0", "p1-1", "p2-0", "p2-1", "p3-0", "p3-1"])
    }

    @Test func nextLinkToAnotherServerIsRefused() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/Slot") { _ in
            try json(Bundle(type: .searchset, link: [.init(relation: "next", url: "https://elsewhere.example/Slot?p=2")],
                            entry: [.init(resource: .slot(slot("a")))]))
        }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
        await #expect(throws: FHIRError.invalidResponse("next link points outside \(peer.baseURL)/fhir")) {
            _ = try await fhir.searchSlots(schedule: "Schedule/s1", from: start, to: end)
        }
    }

    @Test func createSendsConditionalHeadersAndReturnsTheVersion() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("POST /fhir/Appointment") { request in
            #expect(request.header("If-None-Exist") == "identifier=urn:call|c-17")
            #expect(request.header("Idempotency-Key") == "c-17-book")
            #expect(request.header("Content-Type") == "application/fhir+json")
            var created = try FHIRJSON.decode(Appointment.self, from: request.body)
            created.id = "a9"
            return try json(created, status: 201, ["ETag": "W/\"1\"", "Location": "\(peer.baseURL)/fhir/Appointment/a9/_history/1"])
        }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
        let result = try await fhir.createAppointment(appointment(), ifNoneExist: "identifier=urn:call|c-17",
                                                      idempotencyKey: "c-17-book")
        #expect(result.value.id == "a9")
        #expect(result.httpStatus == 201)
        #expect(result.versionId == "1")
        #expect(result.location?.hasSuffix("/Appointment/a9/_history/1") == true)
    }

    @Test func updateSendsIfMatchAndStaleVersionIsPreconditionFailed() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/Appointment/a1") { _ in try json(appointment(id: "a1", version: "3"), ["ETag": "W/\"3\""]) }
        await peer.route("PUT /fhir/Appointment/a1") { request in
            guard request.header("If-Match") == "W/\"3\"" else { return try outcome(412, "version 3 is not current (4)") }
            return try json(appointment(id: "a1", version: "4"), ["ETag": "W/\"4\""])
        }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
        let read = try await fhir.readAppointment(id: "a1")
        #expect(read.versionId == "3")
        let updated = try await fhir.updateAppointment(read.value, ifMatch: read.versionId!)
        #expect(updated.versionId == "4")
        do {
            _ = try await fhir.updateAppointment(read.value, ifMatch: "2")
            Issue.record("expected 412")
        } catch {
            #expect(error == .preconditionFailed("version 3 is not current (4)"))
            #expect(!error.isRetryable)
        }
    }

    @Test(arguments: [
        (404, [String: String](), FHIRError.notFound("boom"), false),
        (409, [:], .conflict("boom"), false),
        (429, ["Retry-After": "7"], .rateLimited(retryAfter: .seconds(7)), true),
        (503, [:], .unavailable(retryAfter: nil), true),
        (500, [:], .server(status: 500, diagnostics: "boom"), true),
        (400, [:], .server(status: 400, diagnostics: "boom"), false),
    ])
    func statusesMapToErrors(status: Int, headers: [String: String], expected: FHIRError, retryable: Bool) async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/Coverage/c1") { _ in try outcome(status, "boom", headers) }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
        do {
            _ = try await fhir.readCoverage(id: "c1")
            Issue.record("expected \(expected)")
        } catch {
            #expect(error == expected)
            #expect(error.isRetryable == retryable)
            #expect(error.httpStatus == status)
        }
    }

    @Test func retryAfterAsHTTPDate() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX"); format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let header = format.string(from: Date().addingTimeInterval(120))
        await peer.route("GET /fhir/Practitioner") { _ in try outcome(503, "maintenance", ["Retry-After": header]) }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
        do {
            _ = try await fhir.practitioners()
            Issue.record("expected 503")
        } catch {
            let wait = try #require(error.retryAfter)
            #expect(wait > .seconds(115) && wait <= .seconds(121))
        }
    }

    @Test func timeoutIsARetryableTransportError() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/Schedule") { _ in
            try await Task.sleep(for: .seconds(3))
            return try json(Bundle(type: .searchset))
        }
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient(), timeout: .milliseconds(250))
        do {
            _ = try await fhir.schedules()
            Issue.record("expected a timeout")
        } catch {
            guard case .transport(.timedOut) = error else { Issue.record("got \(error)"); return }
            #expect(error.isRetryable)
        }
    }

    @Test func everyRequestIsReportedWithoutTheQuery() async throws {
        let peer = try await LoopbackPeer.start()
        defer { Task { await peer.stop() } }
        await peer.route("GET /fhir/Coverage") { _ in
            try json(Bundle(type: .searchset, entry: [.init(resource: .coverage(
                Coverage(id: "c1", status: .active, beneficiary: "Patient/p1", payor: ["Organization/o1"])))]))
        }
        await peer.route("POST /fhir/Communication") { _ in try outcome(422, "note too long") }
        let seen = Shared<[FHIRExchange]>([])
        let fhir = FHIRClient(baseURL: peer.baseURL + "/fhir", http: HTTPClient())
            .reporting { exchange in seen.update { $0.append(exchange) } }
        let coverage = try await fhir.searchCoverage(beneficiary: "Patient/p1")
        #expect(coverage.value.first?.payor == ["Organization/o1"])
        await #expect(throws: FHIRError.server(status: 422, diagnostics: "note too long")) {
            _ = try await fhir.createCommunication(Communication(status: .completed, subject: "Patient/p1"))
        }
        let exchanges = seen.current
        #expect(exchanges.map(\.method) == ["GET", "POST"])
        #expect(exchanges.map(\.resourceType) == ["Coverage", "Communication"])
        #expect(exchanges.map(\.httpStatus) == [200, 422])
        #expect(exchanges.map(\.attempt) == [1, 1])
        #expect(exchanges[1].error == .server(status: 422, diagnostics: "note too long"))
    }
}
