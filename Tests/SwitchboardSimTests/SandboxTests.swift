import Foundation
import GRDB
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchboardCore
import SwitchboardEHR
@testable import SwitchboardSim
import Testing

@Suite(.serialized) struct SandboxTests {
    @Test func metadataIsOpenAndValid() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let reply = try await f.send("GET", "/metadata", token: nil)
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == "application/fhir+json")
        let statement = try reply.decode(CapabilityStatement.self)
        #expect(statement.fhirVersion == "4.0.1")
        #expect(statement.rest?.first?.resource?.contains { $0.type == "Appointment" && $0.conditionalCreate == true } == true)
        let file = try SandboxEndpoints.read(from: f.directory)
        #expect(file == f.endpoints)
    }

    @Test func tokenIsRequiredAndExpires() async throws {
        let f = try await SandboxFixture.start(tokenLifetime: 1)
        defer { Task { await f.stop() } }
        let anonymous = try await f.send("GET", "/Practitioner", token: nil)
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(try anonymous.decode(OperationOutcome.self).issue.first?.code == .login)
        let token = try await f.token()
        let practitioners = try await f.send("GET", "/Practitioner", token: token)
        #expect(practitioners.status == 200)
        #expect(try practitioners.decode(Bundle.self).total == 6)
        try await Task.sleep(for: .milliseconds(1300))
        let expired = try await f.send("GET", "/Practitioner", token: token)
        #expect(expired.status == 401)
        #expect(try expired.decode(OperationOutcome.self).issue.first?.code == .expired)
        #expect(try await f.send("GET", "/Practitioner", token: "forged").status == 401)
    }

    @Test func patientSearchFindsHardNames() async throws {
        let f = try await SandboxFixture.start(patients: 1500)
        defer { Task { await f.stop() } }
        let token = try await f.token()
        // URLComponents percent-encodes the UTF-8; the search ignores case and accents.
        let muller = try await f.send("GET", "/Patient", query: [.init(name: "family", value: "müller-lüd")], token: token)
        let bundle = try muller.decode(Bundle.self)
        #expect(muller.status == 200)
        #expect((bundle.total ?? 0) > 0)
        #expect(bundle.resources.allSatisfy { $0.patient?.name?.first?.family == "Müller-Lüdenscheid" })
        // A composed é finds the decomposed "Cafe\u{301}", and birthdate narrows to one.
        let cafe = try await f.send("GET", "/Patient", query: [.init(name: "family", value: "Café")], token: token).decode(Bundle.self)
        let first = try #require(cafe.resources.first?.patient)
        #expect(first.name?.first?.family == "Cafe\u{301}")
        let exact = try await f.send("GET", "/Patient", query: [.init(name: "family", value: "CAFE"),
                                                                  .init(name: "birthdate", value: first.birthDate!)], token: token)
        #expect(try exact.decode(Bundle.self).resources.contains { $0.id == first.id })
        let byPhone = try await f.send("GET", "/Patient", query: [.init(name: "phone", value: "+1 " + first.phone!)], token: token)
        #expect(try byPhone.decode(Bundle.self).resources.map(\.id) == [first.id])
        let rtl = try await f.send("GET", "/Patient", query: [.init(name: "family", value: "כהן")], token: token).decode(Bundle.self)
        #expect((rtl.total ?? 0) > 0)
        let bad = try await f.send("GET", "/Patient", query: [.init(name: "birthdate", value: "yesterday")], token: token)
        #expect(bad.status == 400)
        #expect(try bad.decode(OperationOutcome.self).issue.first?.severity == .error)
    }

    @Test func slotSearchByRangeStatusAndPages() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let query: [URLQueryItem] = [.init(name: "schedule", value: "Schedule/sch-1"),
                                     .init(name: "start", value: "ge2026-11-24T08:00:00Z"),
                                     .init(name: "start", value: "lt2026-11-24T12:00:00Z"),
                                     .init(name: "status", value: "free"), .init(name: "_count", value: "5")]
        let page1 = try await f.send("GET", "/Slot", query: query, token: token).decode(Bundle.self)
        let slots = page1.resources.compactMap(\.slot)
        #expect(slots.count == 5)
        #expect((page1.total ?? 0) > 5 && (page1.total ?? 0) <= 16)  // 15-minute slots, four hours
        #expect(slots.allSatisfy { $0.status == .free && $0.schedule.reference == "Schedule/sch-1" })
        #expect(slots.allSatisfy { $0.start.text >= "2026-11-24T08:00:00Z" && $0.start.text < "2026-11-24T12:00:00Z" })
        #expect(slots.map(\.start) == slots.map(\.start).sorted())
        let next = try #require(page1.nextURL)
        let page2 = try await f.send("GET", url: URL(string: next)!, token: token).decode(Bundle.self)
        #expect(page2.resources.first?.slot?.start ?? .init(millis: 0) > slots.last!.start)
        let weekend = try await f.send("GET", "/Slot", query: [.init(name: "start", value: "ge2026-11-28"),
                                                               .init(name: "start", value: "lt2026-11-30")], token: token)
        #expect(try weekend.decode(Bundle.self).total == 0)
    }

    @Test func bookingConditionalCreateStaleUpdateAndCancel() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let slot = try await f.freeSlot(token)
        let condition = ["If-None-Exist": "patient=Patient/p-1&slot=Slot/\(slot.id!)"]
        let created = try await f.send("POST", "/Appointment", headers: condition, body: f.booking(slot: slot), token: token)
        #expect(created.status == 201)
        #expect(created.header("ETag") == #"W/"1""#)
        #expect(created.header("Location")?.contains("/fhir/Appointment/") == true)
        var appointment = try created.decode(Appointment.self)
        #expect(appointment.start == slot.start && appointment.end == slot.end)
        #expect(appointment.actor(ofType: "Practitioner")?.reference == "Practitioner/pr-2")
        #expect(try await f.send("GET", "/Slot/\(slot.id!)", token: token).decode(Slot.self).status == .busy)

        let again = try await f.send("POST", "/Appointment", headers: condition, body: f.booking(slot: slot), token: token)
        #expect(again.status == 200)
        #expect(try again.decode(Appointment.self).id == appointment.id)
        let duplicate = try await f.send("POST", "/Appointment", body: f.booking(patient: "p-2", slot: slot), token: token)
        #expect(duplicate.status == 409)
        #expect(try duplicate.decode(OperationOutcome.self).issue.first?.code == .conflict)

        appointment.description = "Moved to the afternoon"
        let updated = try await f.send("PUT", "/Appointment/\(appointment.id!)", headers: ["If-Match": #"W/"1""#],
                                       body: FHIRJSON.encode(appointment), token: token)
        #expect(updated.status == 200)
        #expect(updated.header("ETag") == #"W/"2""#)
        let stale = try await f.send("PUT", "/Appointment/\(appointment.id!)", headers: ["If-Match": #"W/"1""#],
                                     body: FHIRJSON.encode(appointment), token: token)
        #expect(stale.status == 412)
        #expect(try stale.decode(OperationOutcome.self).issue.first?.diagnostics?.contains("version 2") == true)

        let read = try await f.send("GET", "/Appointment/\(appointment.id!)", token: token)
        #expect(read.header("ETag") == #"W/"2""#)
        var cancel = try read.decode(Appointment.self)
        #expect(cancel.meta?.versionId == "2")
        cancel.status = .cancelled
        let cancelled = try await f.send("PUT", "/Appointment/\(appointment.id!)", headers: ["If-Match": #"W/"2""#],
                                         body: FHIRJSON.encode(cancel), token: token)
        #expect(cancelled.status == 200)
        #expect(try await f.send("GET", "/Slot/\(slot.id!)", token: token).decode(Slot.self).status == .free)
        let mine = try await f.send("GET", "/Appointment", query: [.init(name: "patient", value: "Patient/p-1"),
                                                                   .init(name: "date", value: "ge2026-11-23")], token: token)
        #expect(try mine.decode(Bundle.self).resources.first?.appointment?.status == .cancelled)
        #expect(try await f.send("GET", "/Appointment/nope", token: token).status == 404)
    }

    @Test func rescheduleMovesTheSlot() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let first = try await f.freeSlot(token), second = try await f.freeSlot(token, skip: 1)
        var appointment = try await f.send("POST", "/Appointment", body: f.booking(slot: first), token: token).decode(Appointment.self)
        appointment.slot = [second.reference!]
        let moved = try await f.send("PUT", "/Appointment/\(appointment.id!)", body: FHIRJSON.encode(appointment), token: token)
        #expect(moved.status == 200)
        #expect(try moved.decode(Appointment.self).start == second.start)
        #expect(try await f.send("GET", "/Slot/\(first.id!)", token: token).decode(Slot.self).status == .free)
        #expect(try await f.send("GET", "/Slot/\(second.id!)", token: token).decode(Slot.self).status == .busy)
    }

    @Test func fiftyConcurrentBookingsOfOneSlotYieldOneWinner() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let slot = try await f.freeSlot(token, schedule: "sch-3")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 1 ... 50 {
                group.addTask { try await f.send("POST", "/Appointment", body: f.booking(patient: "p-\(i)", slot: slot), token: token).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 201 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 49)
        let held = try await f.send("GET", "/Appointment", query: [.init(name: "slot", value: "Slot/\(slot.id!)")], token: token)
        #expect(try held.decode(Bundle.self).total == 1)
    }

    @Test func idempotencyKeyReplaysTheFirstAnswer() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let note = Communication(status: .completed, subject: "Patient/p-3", sent: "2026-11-25T09:30:00Z",
                                 payload: [CommunicationPayload(contentString: "Booked follow-up; patient confirmed.")])
        let key = ["Idempotency-Key": "call-1/note"]
        let a = try await f.send("POST", "/Communication", headers: key, body: FHIRJSON.encode(note), token: token)
        let b = try await f.send("POST", "/Communication", headers: key, body: FHIRJSON.encode(note), token: token)
        #expect(a.status == 201 && b.status == 201)
        #expect(a.body == b.body)
        let notes = try await f.send("GET", "/Communication", query: [.init(name: "subject", value: "Patient/p-3")], token: token)
        #expect(try notes.decode(Bundle.self).total == 1)
    }

    /// The sandbox's record of what it received (what torture checks the outbox
    /// against): a key counted each time a write reaches it, applied once; a replayed
    /// answer says so (`Idempotent-Replayed`); a write stopped by an injected fault never
    /// reached it; a PUT is keyed by its resource and If-Match.
    @Test func theReceivedRecordCountsArrivalsAndApplicationsPerKey() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let note = Communication(status: .completed, subject: "Patient/p-3", sent: "2026-11-25T09:30:00Z",
                                 payload: [CommunicationPayload(contentString: "Booked follow-up.")])
        let key = ["Idempotency-Key": "call-9:note"]
        let first = try await f.send("POST", "/Communication", headers: key, body: FHIRJSON.encode(note), token: token)
        let again = try await f.send("POST", "/Communication", headers: key, body: FHIRJSON.encode(note), token: token)
        #expect(first.header("Idempotent-Replayed") == nil && again.header("Idempotent-Replayed") == "true")
        await f.sandbox.setFaults(SandboxFaults(errorRate: 1))
        #expect(try await f.send("POST", "/Communication", headers: key, body: FHIRJSON.encode(note), token: token).status == 500)
        await f.sandbox.setFaults(SandboxFaults())
        let slot = try await f.freeSlot(token)
        let made = try await f.send("POST", "/Appointment", body: f.booking(slot: slot), token: token)
        var appointment = try made.decode(Appointment.self)
        appointment.status = .cancelled
        let ifMatch = made.header("ETag") ?? ""
        for _ in 0..<2 {
            _ = try await f.send("PUT", "/Appointment/\(appointment.id!)", headers: ["If-Match": ifMatch], body: FHIRJSON.encode(appointment), token: token)
        }
        let db = try DatabaseQueue(path: f.directory.appendingPathComponent("ehr-sandbox.sqlite").path)
        let rows = try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT key, times, applied FROM received ORDER BY key").map { "\($0["key"] as String): \($0["times"] as Int)/\($0["applied"] as Int)" }
        }
        #expect(rows == ["PUT Appointment/\(appointment.id!) \(ifMatch): 2/1", "call-9:note: 2/1"], "\(rows)")
    }

    /// A write and its count in `received` commit together, on every pathway. They were
    /// two transactions, and a SIGKILL between them (torture's kills/simulator) left a
    /// booking applied but uncounted: its delivered outbox item was reported lost. With
    /// the count made to fail, the write must fail with it.
    @Test func aWriteAndItsCountCommitTogether() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let slot = try await f.freeSlot(token)
        let made = try await f.send("POST", "/Appointment", body: f.booking(slot: slot), token: token)
        var appointment = try made.decode(Appointment.self)
        let hl7Slot = try await f.freeSlot(token, schedule: "sch-4")
        let file = try DatabaseQueue(path: f.directory.appendingPathComponent("ehr-sandbox.sqlite").path)
        try await file.write { db in
            try db.execute(sql: "CREATE TRIGGER refuse_count BEFORE INSERT ON received BEGIN SELECT RAISE(ABORT, 'count refused'); END")
        }

        let note = Communication(status: .completed, subject: "Patient/p-3", sent: "2026-11-25T09:30:00Z",
                                 payload: [CommunicationPayload(contentString: "Booked follow-up.")])
        let created = try await f.send("POST", "/Communication", headers: ["Idempotency-Key": "call-3:note"], body: FHIRJSON.encode(note), token: token)
        #expect(created.status == 500, "FHIR create: \(created.status)")
        appointment.status = .cancelled
        let put = try await f.send("PUT", "/Appointment/\(appointment.id!)", headers: ["If-Match": made.header("ETag") ?? ""],
                                   body: FHIRJSON.encode(appointment), token: token)
        #expect(put.status == 500, "FHIR update: \(put.status)")
        let rest = try await f.send("POST", url: URL(string: f.endpoints.restBaseURL! + "/notes")!,
                                    headers: ["Idempotency-Key": "call-4:note", "Content-Type": "application/x-www-form-urlencoded"],
                                    body: Data("patientid=3&notetext=Called%20back".utf8), token: token)
        #expect(rest.status == 500, "REST note: \(rest.status)")
        let endpoints = HL7Endpoints(sendingApplication: "AGENT", sendingFacility: "CLINIC", receivingApplication: "EHR", receivingFacility: "CLINIC")
        let siu = SIUAppointment(event: .new, placerID: "m-9", start: hl7Slot.start.millis, end: hl7Slot.end.millis,
                                 practitionerID: "pr-4", patient: HL7Patient(id: "p-5", family: "", given: ""))
            .message(controlID: "m-9", at: 0, endpoints: endpoints)
        let ack = try HL7Acknowledgment(HL7Message(parsing: try await mllpExchange(port: f.endpoints.mllpPort, MLLP.frame(siu))))
        #expect(ack.code == .error, "HL7 SIU^S12: \(ack.code)")

        let notes = try await f.send("GET", "/Communication", query: [.init(name: "subject", value: "Patient/p-3")], token: token)
        #expect(try notes.decode(Bundle.self).total == 0, "no call note written without its count")
        let current = try await f.send("GET", "/Appointment/\(appointment.id!)", token: token).decode(Appointment.self)
        #expect(current.status == .booked, "the appointment not cancelled without its count")
        #expect(try await f.send("GET", "/Slot/\(hl7Slot.id!)", token: token).decode(Slot.self).status == .free, "the HL7 slot not booked")
    }

    @Test func anInjected401SaysTheTokenWasRevoked() async throws {
        let f = try await SandboxFixture.start(faults: SandboxFaults(unauthorizedRate: 1))
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let refused = try await f.send("GET", "/Practitioner", token: token)
        #expect(refused.status == 401)
        #expect(refused.header("WWW-Authenticate")?.contains("invalid_token") == true)
        await f.sandbox.setFaults(SandboxFaults())
        #expect(try await f.send("GET", "/Practitioner", token: token).status == 200)
    }

    @Test func restartKeepsThePractice() async throws {
        let f = try await SandboxFixture.start()
        let token = try await f.token()
        let slot = try await f.freeSlot(token)
        let id = try await f.send("POST", "/Appointment", body: f.booking(slot: slot), token: token).decode(Appointment.self).id!
        await f.stop(keepingFiles: true)
        let g = try await SandboxFixture.start(directory: f.directory)
        defer { Task { await g.stop(); try? FileManager.default.removeItem(at: f.directory) } }
        let token2 = try await g.token()
        let read = try await g.send("GET", "/Appointment/\(id)", token: token2)
        #expect(read.status == 200)
        #expect(try await g.send("GET", "/Slot/\(slot.id!)", token: token2).decode(Slot.self).status == .busy)
        #expect(try await g.send("GET", "/Patient", token: token2).decode(Bundle.self).total == 300)
    }

    /// Every test run starts sandboxes; each left its practice in /tmp (CI once ran out of disk).
    @Test func aStoppedSandboxLeavesNoFilesBehind() async throws {
        let f = try await SandboxFixture.start(patients: 20)
        #expect(FileManager.default.fileExists(atPath: f.directory.path))
        await f.stop()
        #expect(!FileManager.default.fileExists(atPath: f.directory.path))
    }

    @Test func outageRefusesConnectionsThenRecovers() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        var request = URLRequest(url: URL(string: f.endpoints.controlURL + "/outage")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"seconds":1.5}"#.utf8)
        let (state, _) = try await f.session.data(for: request)
        #expect(try JSONDecoder().decode(SandboxFaultState.self, from: state).outageSecondsLeft > 1)
        await #expect(throws: (any Error).self) { try await f.send("GET", "/Practitioner", token: token) }
        await #expect(throws: (any Error).self) { try await mllpExchange(port: f.endpoints.mllpPort, MLLP.frame("MSH|^~\\&|")) }
        try await Task.sleep(for: .milliseconds(2200))
        #expect(try await f.send("GET", "/Practitioner", token: token).status == 200)
    }

    @Test func injectedFaultsCarryOperationOutcomes() async throws {
        let f = try await SandboxFixture.start(faults: SandboxFaults(throttleRate: 1, retryAfterSeconds: 3))
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let throttled = try await f.send("GET", "/Practitioner", token: token)
        #expect(throttled.status == 429)
        #expect(throttled.header("Retry-After") == "3")
        #expect(try throttled.decode(OperationOutcome.self).issue.first?.code == .throttled)
        await f.sandbox.setFaults(SandboxFaults(unavailableRate: 1))
        #expect(try await f.send("GET", "/Practitioner", token: token).status == 503)
        var request = URLRequest(url: URL(string: f.endpoints.controlURL + "/faults")!)
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"errorRate":1}"#.utf8)
        _ = try await f.session.data(for: request)
        let failed = try await f.send("GET", "/Practitioner", token: token)
        #expect(failed.status == 500)
        #expect(try failed.decode(OperationOutcome.self).issue.first?.severity == .fatal)
        await f.sandbox.setFaults(SandboxFaults(latency: .init(medianMs: 40, p99Ms: 60)))
        let clock = ContinuousClock.now
        #expect(try await f.send("GET", "/Practitioner", token: token).status == 200)
        #expect(ContinuousClock.now - clock > .milliseconds(20))
    }

    @Test func mllpAppliesSchedulingMessages() async throws {
        let f = try await SandboxFixture.start()
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let slot = try await f.freeSlot(token, schedule: "sch-4")
        let endpoints = HL7Endpoints(sendingApplication: "AGENT", sendingFacility: "CLINIC", receivingApplication: "EHR", receivingFacility: "CLINIC")
        func siu(_ placer: String, patient: String) -> [UInt8] {
            MLLP.frame(SIUAppointment(event: .new, placerID: placer, start: slot.start.millis, end: slot.end.millis,
                                      practitionerID: "pr-4", patient: HL7Patient(id: patient, family: "", given: ""))
                .message(controlID: placer, at: 0, endpoints: endpoints))
        }
        let accepted = try HL7Acknowledgment(HL7Message(parsing: try await mllpExchange(port: f.endpoints.mllpPort, siu("m-1", patient: "p-5"))))
        #expect(accepted.code == .accept)
        #expect(accepted.acknowledgedControlID == "m-1")
        #expect(try await f.send("GET", "/Slot/\(slot.id!)", token: token).decode(Slot.self).status == .busy)
        let taken = try HL7Acknowledgment(HL7Message(parsing: try await mllpExchange(port: f.endpoints.mllpPort, siu("m-2", patient: "p-6"))))
        #expect(taken.code == .error)
        #expect(taken.text?.contains("not free") == true)
        let garbage = try HL7Acknowledgment(HL7Message(parsing: try await mllpExchange(port: f.endpoints.mllpPort, MLLP.frame("hello there"))))
        #expect(garbage.code == .reject)
        let unsupported = try await mllpExchange(port: f.endpoints.mllpPort, MLLP.frame("MSH|^~\\&|A|B|C|D|x||ORM^O01|9|P|2.5\r"))
        #expect(try HL7Acknowledgment(HL7Message(parsing: unsupported)).code == .reject)
        let register = ADTRegistration(event: .register, patient: HL7Patient(id: "p-hl7", family: "Nguyễn", given: "Thảo", birthDate: "1990-05-17"))
        let registered = try await mllpExchange(port: f.endpoints.mllpPort, MLLP.frame(register.message(controlID: "adt-1", at: 0, endpoints: endpoints)))
        #expect(try HL7Acknowledgment(HL7Message(parsing: registered)).code == .accept)
        let patient = try await f.send("GET", "/Patient/p-hl7", token: token).decode(Patient.self)
        #expect(patient.name?.first?.family == "Nguyễn")
        let cancel = SIUAppointment(event: .cancel, placerID: "m-1", start: slot.start.millis, end: slot.end.millis,
                                    practitionerID: "pr-4", patient: HL7Patient(id: "p-5", family: "", given: ""))
        let cancelled = try await mllpExchange(port: f.endpoints.mllpPort, MLLP.frame(cancel.message(controlID: "m-3", at: 0, endpoints: endpoints)))
        #expect(try HL7Acknowledgment(HL7Message(parsing: cancelled)).code == .accept)
        #expect(try await f.send("GET", "/Slot/\(slot.id!)", token: token).decode(Slot.self).status == .free)
    }
}
