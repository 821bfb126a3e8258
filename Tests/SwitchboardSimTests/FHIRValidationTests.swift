import Foundation
import SwitchboardEHR
@testable import SwitchboardSim
import SwitchboardTesting
import Testing

/// Checks the sandbox's JSON against an independent FHIR model: the PyPI package
/// `fhir.resources`. Its releases model R5 and R4B (4.3) but no longer 4.0.1; R4B has the
/// same elements as R4 for every resource type checked here, so R4B is the validator.
@Suite struct FHIRValidationTests {
    static let script = """
        import json, sys
        try:
            from fhir.resources.R4B import get_fhir_model_class
        except ImportError as e:
            print("IMPORT", e); sys.exit(3)
        # fhir.resources checks elements, types and cardinality but lets null, [] and "" through,
        # which FHIR JSON forbids; check those here.
        def empties(v, where):
            if v is None or v == [] or v == "" or v == {}:
                yield where
            elif isinstance(v, dict):
                for k, x in v.items(): yield from empties(x, where + "." + k)
            elif isinstance(v, list):
                for i, x in enumerate(v): yield from empties(x, where + "[%d]" % i)
        bad = 0
        for path in sys.argv[1:]:
            doc = json.load(open(path, encoding="utf-8"))
            # A Bundle does not validate its entries' resources, so each is checked on its own.
            for where in empties(doc, doc["resourceType"]):
                bad += 1
                print("INVALID", path, "empty or null at", where)
            docs = [doc] + [e["resource"] for e in doc.get("entry", []) if "resource" in e]
            for d in docs:
                try:
                    get_fhir_model_class(d["resourceType"]).model_validate(d)
                except Exception as e:
                    bad += 1
                    print("INVALID", path, d.get("id"), str(e)[:400])
        sys.exit(1 if bad else 0)
        """

    @Test func everyStoredResourceTypeIsValidFHIR() async throws {
        let judge = try PythonJudge("fhir-resources", packages: ["fhir.resources"])
        let f = try await SandboxFixture.start(patients: 400)
        defer { Task { await f.stop() } }
        let token = try await f.token()
        let slot = try await f.freeSlot(token)
        let appointment = try await f.send("POST", "/Appointment", body: f.booking(slot: slot), token: token)
        let note = Communication(status: .completed, subject: "Patient/p-1", sent: "2026-11-25T09:30:00Z",
                                 payload: [CommunicationPayload(contentString: "Called about knee pain; booked.")])
        let communication = try await f.send("POST", "/Communication", body: FHIRJSON.encode(note), token: token)
        var documents: [String: Data] = [
            "metadata": try await f.send("GET", "/metadata", token: nil).body,
            "appointment": appointment.body,
            "communication": communication.body,
            "slot": try await f.send("GET", "/Slot/\(slot.id!)", token: token).body,
            "outcome": try await f.send("GET", "/Appointment/missing", token: token).body,
        ]
        for type in ["Patient", "Practitioner", "Schedule", "Slot", "Appointment", "Coverage", "Communication"] {
            documents["search-\(type)"] = try await f.send("GET", "/\(type)", query: [.init(name: "_count", value: "400")], token: token).body
        }
        let dir = f.directory.appendingPathComponent("fhir-json")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var paths: [String] = []
        for (name, body) in documents.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent("\(name).json")
            try body.write(to: url)
            paths.append(url.path)
        }
        let result = try judge.run(script: Self.script, arguments: paths)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
