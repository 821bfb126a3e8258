import Foundation
import SwitchboardEHR
import Testing

@Suite struct FHIRInstantTests {
    @Test func formatsUTCWithoutFraction() {
        let instant = FHIRInstant(millis: 1_795_599_000_000)
        #expect(instant.text == "2026-11-25T09:30:00Z")
        #expect(instant.dateText == "2026-11-25")
    }

    @Test(arguments: [
        ("2026-11-25T09:30:00Z", Int64(1_795_599_000_000)),
        ("2026-11-25T04:30:00-05:00", 1_795_599_000_000),
        ("2026-11-25T10:30:00.250+01:00", 1_795_599_000_250),
        ("2026-11-25", 1_795_564_800_000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59Z", -1000),
    ])
    func parses(text: String, millis: Int64) {
        #expect(FHIRInstant.parse(text) == millis)
    }

    @Test(arguments: ["", "2026-13-01", "2026-11-25T25:00:00Z", "2026-11-25T09:30:00+0500", "yesterday", "2026-11-25T09:30:00Zx"])
    func rejects(text: String) {
        #expect(FHIRInstant.parse(text) == nil)
    }

    @Test func roundTripsAcrossCenturies() {
        for millis in stride(from: Int64(-2_208_988_800_000), to: 4_102_444_800_000, by: 86_399_000 * 37) {
            let text = FHIRInstant(millis: millis).text
            #expect(FHIRInstant.parse(text) == millis / 1000 * 1000, "\(text)")
        }
    }
}

@Suite struct FHIRModelTests {
    let appointment = Appointment(
        id: "a-1", meta: Meta(versionId: "2", lastUpdated: FHIRInstant(millis: 1_795_599_000_000)),
        status: .booked, appointmentType: CodeableConcept(coding: [Coding(system: "http://terminology.hl7.org/CodeSystem/v2-0276", code: "ROUTINE")]),
        description: "Follow-up", start: FHIRInstant("2026-11-25T09:30:00Z"), end: FHIRInstant("2026-11-25T09:50:00Z"),
        slot: ["Slot/s-1"],
        participant: [
            AppointmentParticipant(actor: Reference("Patient/p-1", display: "José Müller-Lüdenscheid"), status: .accepted),
            AppointmentParticipant(actor: "Practitioner/pr-1", status: .accepted),
        ])

    @Test func encodesResourceTypeAndNoNulls() throws {
        let json = String(decoding: try FHIRJSON.encode(appointment), as: UTF8.self)
        #expect(json.contains(#""resourceType":"Appointment""#))
        #expect(try FHIRJSON.encode(appointment) == FHIRJSON.encode(appointment))
        #expect(!json.contains("null"))
        #expect(json.contains(#""start":"2026-11-25T09:30:00Z""#))
        #expect(json.contains(#""reference":"Slot/s-1""#))
    }

    @Test func bundleRoundTripsMixedResources() throws {
        let bundle = Bundle(type: .searchset, total: 3, link: [.init(relation: "next", url: "http://x/fhir/Slot?page=2")], entry: [
            .init(fullUrl: "http://x/fhir/Appointment/a-1", resource: .appointment(appointment), search: .init(mode: .match)),
            .init(resource: .patient(Patient(id: "p-1", name: [HumanName(family: "O'Brien", given: ["Siobhán"])],
                                             telecom: [ContactPoint(system: .phone, value: "555-0100")], birthDate: "1980-02-29"))),
            .init(resource: .operationOutcome(OperationOutcome(.warning, .informational, "partial"))),
        ])
        let decoded = try FHIRJSON.decode(Bundle.self, from: try FHIRJSON.encode(bundle))
        #expect(decoded == bundle)
        #expect(decoded.nextURL == "http://x/fhir/Slot?page=2")
        #expect(decoded.resources.map(\.resourceType) == ["Appointment", "Patient", "OperationOutcome"])
        #expect(decoded.resources[1].patient?.phone == "555-0100")
        #expect(decoded.resources[0].appointment?.actor(ofType: "Practitioner")?.id == "pr-1")
    }

    @Test func unknownResourceTypeDecodesAsOther() throws {
        let json = #"{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Encounter","id":"e-9","status":"planned"}}]}"#
        let bundle = try FHIRJSON.decode(Bundle.self, from: Data(json.utf8))
        #expect(bundle.resources == [.other(resourceType: "Encounter", id: "e-9")])
    }

    @Test func readsAnEHRStyleAppointmentWithOffsets() throws {
        let json = #"""
        {"resourceType":"Appointment","id":"x","meta":{"versionId":"7","lastUpdated":"2026-11-20T12:00:00.123+00:00"},
         "status":"cancelled","start":"2026-11-25T04:30:00-05:00","participant":[{"actor":{"reference":"Patient/1"},"status":"accepted"}]}
        """#
        let appt = try FHIRJSON.decode(Appointment.self, from: Data(json.utf8))
        #expect(appt.status == .cancelled)
        #expect(appt.start?.text == "2026-11-25T09:30:00Z")
        #expect(appt.meta?.versionId == "7")
    }

    @Test func referenceParts() {
        #expect(Reference("Patient/p-1").id == "p-1")
        #expect(Reference("https://ehr.example/fhir/Slot/s-9/_history/3").resourceType == "Slot")
        #expect(Reference("https://ehr.example/fhir/Slot/s-9/_history/3").id == "s-9")
        #expect(Reference("nonsense").id == nil)
    }
}
