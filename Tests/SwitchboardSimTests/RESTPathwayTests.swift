import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardHTTP
@testable import SwitchboardSim
import Testing

/// A token the test fetched itself from the sandbox's token endpoint.
private struct SandboxToken: AccessTokenSource {
    let fixture: SandboxFixture
    var audience: String { fixture.endpoints.restBaseURL ?? fixture.endpoints.fhirBaseURL }
    func token() async throws(OAuthError) -> String {
        do { return try await fixture.token() } catch { throw .transport(.cancelled) }
    }
    func renewToken(rejected: String) async throws(OAuthError) -> String { try await token() }
}

/// The vendor REST pathway end to end: the real `RESTClient` over libcurl against the
/// sandbox's REST API on loopback.
@Suite(.serialized) struct RESTPathwayTests {
    static let monday: UnixMillis = 1_795_996_800_000  // 2026-11-30T00:00:00Z

    func client(_ f: SandboxFixture) throws -> RESTClient {
        RESTClient(baseURL: try #require(f.endpoints.restBaseURL), http: HTTPClient(), auth: SandboxToken(fixture: f))
    }

    @Test func readsWithItsOwnIdsAndPages() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let rest = try client(f)
        let providers = try await rest.providers().value
        #expect(providers.map(\.providerid) == ["1", "2", "3", "4", "5", "6"])
        #expect(providers[0].displayname?.isEmpty == false)

        // A patient the FHIR API knows as p-5 is patient 5 here, found by name and MM/DD/YYYY birth date.
        let token = try await f.token()
        let patient = try await f.send("GET", "/Patient/p-5", token: token).decode(Patient.self)
        let found = try await rest.searchPatients(lastName: patient.name?.first?.family, birthDate: patient.birthDate).value
        #expect(found.contains { $0.patientid == "5" && $0.dob == RESTDates.usDate(fromISO: patient.birthDate ?? "") })

        // More open slots than one page (50): the client follows `next`, and keeps to the range.
        let to = Self.monday + 3 * 86_400_000
        let slots = try await rest.openSlots(providerID: "2", from: Self.monday, to: to).value
        #expect(slots.count > 50)
        #expect(Set(slots.map(\.appointmentid)).count == slots.count)
        #expect(slots.allSatisfy { ($0.start ?? 0) >= Self.monday && ($0.start ?? .max) < to && $0.duration == "20" })
        let fhirCount = try await f.send("GET", "/Slot", query: [
            .init(name: "schedule", value: "Schedule/sch-2"), .init(name: "status", value: "free"),
            .init(name: "start", value: "ge2026-11-30T00:00:00Z"), .init(name: "start", value: "lt2026-12-03T00:00:00Z"),
            .init(name: "_count", value: "0"),
        ], token: token).decode(Bundle.self).total
        #expect(slots.count == fhirCount)

        // Every answer says how much of this second's allowance is left.
        let raw = try await f.send("GET", url: URL(string: f.endpoints.restBaseURL! + "/providers?limit=2")!, token: token)
        #expect(raw.header("X-RateLimit-Limit") == "1000")
        #expect(Int(raw.header("X-RateLimit-Remaining") ?? "") ?? -1 >= 0)
        let page = try JSONSerialization.jsonObject(with: raw.body) as? [String: Any]
        #expect(page?["totalcount"] as? Int == 6)
        #expect((page?["next"] as? String)?.hasSuffix("/v1/195900/providers?limit=2&offset=2") == true)
        // No criteria is a 400 with an error body, never a crash.
        let bad = try await f.send("GET", url: URL(string: f.endpoints.restBaseURL! + "/patients")!, token: token)
        #expect(bad.status == 400)
        #expect(bad.text.contains("\"error\""))
    }

    @Test func booksMovesAndCancelsFormEncoded() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let rest = try client(f)
        let slots = try await rest.openSlots(providerID: "3", from: Self.monday, to: Self.monday + 86_400_000).value
        try #require(slots.count >= 3)
        let booking = RESTRequests.book(slotID: slots[0].appointmentid, patientID: "9", appointmentType: nil, externalID: "b-t-1",
                                        idempotencyKey: "b-t-1:create")
        #expect(booking.headers["Content-Type"] == "application/x-www-form-urlencoded")
        let booked = try await rest.send(booking)
        let id = try #require(booked.value["appointmentid"])
        #expect(booked.value["version"] == "1")
        #expect(booked.value["patientid"] == "9")
        // A retry with the same key gets the first answer; anyone else gets 409 for the slot.
        #expect(try await rest.send(booking).value["appointmentid"] == id)
        await #expect(throws: FHIRError.self) {
            try await rest.send(RESTRequests.book(slotID: slots[0].appointmentid, patientID: "10", appointmentType: nil,
                                                  externalID: "b-t-2", idempotencyKey: "b-t-2:create"))
        }
        // The same practice behind both APIs: FHIR sees the booking on p-9.
        let token = try await f.token()
        let fhir = try await f.send("GET", "/Appointment", query: [.init(name: "patient", value: "Patient/p-9")], token: token)
        #expect(try fhir.decode(Bundle.self).total == 1)

        // A change naming an old version is refused 412, as FHIR's stale If-Match is.
        do {
            _ = try await rest.send(RESTRequests.reschedule(appointmentID: id, newSlotID: slots[1].appointmentid, version: "7",
                                                            idempotencyKey: "b-t-1:reschedule-stale"))
            Issue.record("a stale version was accepted")
        } catch {
            #expect(error.httpStatus == 412)
            guard case .preconditionFailed = error else { Issue.record("\(error)"); return }
        }
        let moved = try await rest.send(RESTRequests.reschedule(appointmentID: id, newSlotID: slots[1].appointmentid, version: "1",
                                                                idempotencyKey: "b-t-1:reschedule"))
        #expect(moved.value["appointmentid"] == id)
        #expect(moved.value["version"] == "2")
        #expect(moved.value["starttime"] == slots[1].starttime)
        // The old slot is open again; the new one is not.
        let open = try await rest.openSlots(providerID: "3", from: Self.monday, to: Self.monday + 86_400_000).value.map(\.appointmentid)
        #expect(open.contains(slots[0].appointmentid) && !open.contains(slots[1].appointmentid))

        let cancelled = try await rest.send(RESTRequests.cancel(appointmentID: id, version: "2", reason: "test",
                                                                idempotencyKey: "b-t-1:cancel"))
        #expect(cancelled.value["appointmentstatus"] == "x")
        #expect(try await rest.bookedAppointments(patientID: "9").value.isEmpty)
        #expect(try await rest.appointment(id: id).value.isCancelled)
    }

    @Test func overTheRateLimitIs429WithRetryAfter() async throws {
        let f = try await SandboxFixture.start(restLimit: 3)
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let url = URL(string: f.endpoints.restBaseURL! + "/providers")!
        let replies = try await withThrowingTaskGroup(of: SandboxFixture.Reply.self) { group in
            for _ in 0 ..< 12 { group.addTask { try await f.send("GET", url: url, token: token) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let refused = replies.filter { $0.status == 429 }
        #expect(!refused.isEmpty, "statuses: \(replies.map(\.status))")
        #expect(refused.allSatisfy { $0.header("Retry-After") == "1" && $0.header("X-RateLimit-Remaining") == "0" })
        #expect(replies.filter { $0.status == 200 }.count <= 6)  // at most two seconds' allowance
    }
}
