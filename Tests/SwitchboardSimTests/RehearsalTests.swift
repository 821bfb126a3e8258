import Foundation
import SwitchboardCore
import SwitchboardTesting
import Testing

/// The integration guide's day-4 rehearsal, short form, on each pathway: every workflow and
/// edge case row passes, and independent judges from PyPI accept what the EHR holds
/// afterwards (FHIR resources by `fhir.resources`, the HL7 v2 messages, SIU and ADT, by `hl7apy`).
@Suite(.serialized) struct RehearsalTests {
    static let rows = [
        "new patient booking", "new patient registered", "demographics updated", "reschedule", "cancel", "insurance check", "prescription refill", "urgent triage",
        "after-hours routing", "all slots full", "patient not found", "EHR timeout", "unexpected EHR error",
        "several actions in one call", "two patients, one slot", "concurrent calls", "ambiguous patient match", "two scheduling actions",
        "dropped before the write", "dropped during the write", "call dropped mid-transaction",
    ]

    static let fhirJudge = """
        import json, sys
        from fhir.resources.R4B import get_fhir_model_class
        bad = seen = 0
        for path in sys.argv[1:]:
            for line in open(path, encoding="utf-8"):
                if not line.strip(): continue
                doc = json.loads(line); seen += 1
                try:
                    get_fhir_model_class(doc["resourceType"]).model_validate(doc)
                except Exception as e:
                    bad += 1; print("INVALID", path, doc.get("id"), str(e)[:300])
        print("checked", seen)
        sys.exit(1 if bad or not seen else 0)
        """

    static let hl7Judge = """
        import json, sys
        from hl7apy.parser import parse_message
        bad = seen = 0
        for line in open(sys.argv[1], encoding="utf-8"):
            if not line.strip(): continue
            text = json.loads(line)["body"]; seen += 1
            try:
                m = parse_message(text.replace("\\n", "\\r"), find_groups=False)
                kind = m.msh.msh_9.to_er7()
                if kind.startswith("SIU^S1"):
                    if not m.sch.sch_2.to_er7() and not m.sch.sch_1.to_er7(): raise ValueError("no appointment id")
                elif kind.startswith("ADT^A04") or kind.startswith("ADT^A08"):
                    if not m.pid.pid_3.to_er7(): raise ValueError("no patient id")
                else:
                    raise ValueError("unexpected type " + kind)
            except Exception as e:
                bad += 1; print("UNPARSEABLE", repr(text[:80]), e)
        print("checked", seen)
        sys.exit(1 if bad or not seen else 0)
        """

    @Test(arguments: ["fhir", "rest", "hl7v2"])
    func dayFourShortFormPasses(transport: String) throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let result = try run(Sim.binary, ["run", "--dir", dir, "--protocol", "day4", "--calls", "21", "--transport", transport,
                                          "--patients", "300"], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        // One call per row, two for the racing pair.
        #expect(result.stdout.contains("21 of 21 rows pass, 22 calls, \(transport)"), "\(result.stdout)")

        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/day4-report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["pass"] as? Bool == true)
        #expect(report["transport"] as? String == transport)
        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(rows.map { $0["name"] as? String ?? "" } == Self.rows)
        for row in rows {
            #expect(row["pass"] as? Bool == true, "\(row)")
            #expect((row["ehr_requests"] as? Int ?? -1) == (row["audit_rows"] as? Int ?? -2), "\(row)")
            for key in ["calls", "expected", "happened", "failures", "kind"] { #expect(row[key] != nil, "\(key) missing") }
        }

        // The judges: every resource the EHR holds for the practice's appointments and notes,
        // and a sample of patients, coverage, practitioners and schedules.
        let judge = try PythonJudge("fhir-resources", packages: ["fhir.resources"])
        let ehr = dir + "/ehr-sandbox.sqlite"
        var files: [String] = []
        for (table, limit) in [("appointment", 100_000), ("communication", 100_000), ("task", 100_000), ("patient", 200), ("coverage", 200),
                               ("practitioner", 100), ("schedule", 100)] {
            let lines = try sqlite3(ehr, "SELECT json FROM \(table) ORDER BY rowid LIMIT \(limit)")
            let path = scratch.path("\(table).jsonl")
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        // The insurance checks' eligibility requests and the payer's answers (FHIR reads; a REST
        // site's insurance list carries the answer itself).
        for column in ["request_json", "json"] {
            let path = scratch.path("eligibility-\(column).jsonl")
            try sqlite3(ehr, "SELECT \(column) FROM eligibility ORDER BY rowid").write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        if transport != "rest" { #expect(try Sim.count(ehr, "SELECT count(*) FROM eligibility") > 0) }
        #expect(try Sim.count(ehr, "SELECT count(*) FROM appointment") > 0)
        let fhir = try judge.run(script: Self.fhirJudge, arguments: files)
        #expect(fhir.status == 0, "\(fhir.stdout)\(fhir.stderr)")

        if transport == "hl7v2" {
            let messages = scratch.path("hl7.jsonl")
            try sqlite3(dir + "/outbox.sqlite", "SELECT request FROM outbox_item WHERE transport = 'hl7v2'")
                .write(toFile: messages, atomically: true, encoding: .utf8)
            let hl7 = try PythonJudge("hl7apy", packages: ["hl7apy"])
            let parsed = try hl7.run(script: Self.hl7Judge, arguments: [messages])
            #expect(parsed.status == 0, "\(parsed.stdout)\(parsed.stderr)")
        }
    }

    /// The day-4 rehearsal on an HL7v2 site with the simulator serving TLS itself: FHIR reads
    /// over HTTPS and SIU/ADT over MLLP inside TLS, every row passing, with a certificate
    /// this test made and the agent trusting only the test CA.
    @Test func dayFourShortFormPassesOverTLS() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let certs = try TestCertificates(in: scratch.url)
        let dir = scratch.path("site")
        let result = try run(Sim.binary, ["run", "--dir", dir, "--protocol", "day4", "--calls", "21", "--transport", "hl7v2",
                                          "--patients", "300", "--tls-cert", certs.server.certificate, "--tls-key", certs.server.key,
                                          "--tls-ca", certs.caFile], timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("21 of 21 rows pass, 22 calls, hl7v2"), "\(result.stdout)")
        #expect(result.stdout.contains("MLLP port") && result.stdout.contains("(TLS)"), "\(result.stdout)")
        let endpoints = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/sandbox.json"))) as? [String: Any])
        #expect((endpoints["fhirBaseURL"] as? String)?.hasPrefix("https://127.0.0.1:") == true)
        #expect(endpoints["mllpOverTLS"] as? Bool == true)
        // The EHR really took the writes over TLS: ACKed HL7 messages and appointments in its database.
        #expect(try Sim.count(dir + "/outbox.sqlite", "SELECT count(*) FROM outbox_item WHERE transport = 'hl7v2' AND status = 'succeeded'") > 0)
        #expect(try Sim.count(dir + "/audit.sqlite", "SELECT count(*) FROM audit_event WHERE action = 'coverage.eligibility' AND http_status = 200") > 0)

        // The same site with a certificate the agent cannot trust: refused at once, in one line (69), not a hang.
        let stranger = try run(Sim.binary, ["run", "--dir", scratch.path("stranger"), "--protocol", "day4", "--calls", "21",
                                            "--transport", "hl7v2", "--patients", "300", "--tls-cert", certs.stranger.certificate,
                                            "--tls-key", certs.stranger.key, "--tls-ca", certs.caFile], timeout: 60)
        #expect(stranger.status == 69, "\(stranger.stdout)\(stranger.stderr)")
        #expect(stranger.stderr.contains("cannot reach the EHR sandbox over TLS") && stranger.stderr.contains("certificate"), "\(stranger.stderr)")
    }
}
