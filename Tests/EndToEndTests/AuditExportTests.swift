import Foundation
import SwitchboardTesting
import Testing

/// `switchboard audit export`, judged by `fhir.resources` (PyPI) and Python's csv module,
/// on a generated history with hostile text planted in the audit rows.
@Suite struct AuditExportTests {
    /// Validates each file given: a Bundle (and each entry's resource on its own, which a
    /// Bundle does not check) or NDJSON (each line). R4B has R4's AuditEvent elements.
    static let fhirJudge = """
        import json, sys
        from fhir.resources.R4B import get_fhir_model_class
        def empties(v, where):
            if v is None or v == [] or v == "" or v == {}:
                yield where
            elif isinstance(v, dict):
                for k, x in v.items(): yield from empties(x, where + "." + k)
            elif isinstance(v, list):
                for i, x in enumerate(v): yield from empties(x, where + "[%d]" % i)
        bad = 0; count = 0
        for path in sys.argv[1:]:
            text = open(path, encoding="utf-8").read()
            docs = [json.loads(line) for line in text.splitlines()] if path.endswith(".ndjson") else [json.loads(text)]
            for doc in docs:
                for d in [doc] + [e["resource"] for e in doc.get("entry", [])]:
                    for where in empties(d, d["resourceType"]):
                        bad += 1; print("EMPTY", path, where)
                    try:
                        get_fhir_model_class(d["resourceType"]).model_validate(d)
                    except Exception as e:
                        bad += 1; print("INVALID", path, d.get("id"), str(e)[:300])
                    if d["resourceType"] == "AuditEvent":
                        count += 1
                        assert d["action"] in "CRUDE" and d["outcome"] in ("0", "4", "8", "12"), d["id"]
        print("AUDITEVENTS", count)
        sys.exit(1 if bad else 0)
        """

    static let csvJudge = """
        import csv, sys
        rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
        assert all(len(r) == 17 for r in rows), "17 fields in every row"
        print("ROWS", len(rows) - 1)
        print("DETAIL", rows[int(sys.argv[2])][14])
        """

    /// Every kind of character that must not reach a reader raw.
    static func unsafeScalars(in text: String) -> [UInt32] {
        text.unicodeScalars.map(\.value).filter {
            ($0 < 0x20 && $0 != 0x0A && $0 != 0x0D) || (0x7F...0x9F).contains($0) || $0 == 0x2028 || $0 == 0x2029
                || (0x202A...0x202E).contains($0) || (0x2066...0x2069).contains($0) || $0 == 0x200E || $0 == 0x200F || $0 == 0x061C
        }
    }

    @Test func exportsValidFHIRNDJSONAndCSVWithNoRawControlCharacters() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 120)
        let rows = Int(try E2E.value(db.audit, "SELECT count(*) FROM audit_event"))!
        // A detail with ESC, BEL, a C1 CSI, RLO, a line separator, a quote and a comma.
        let hostile = "{\"note\":\"a\u{1B}[31mred\u{07}\u{9B}2J\u{202E}evil\u{2028}x\\\",y\"}"
        _ = try sqlite3(db.audit, "DROP TRIGGER audit_event_is_append_only_update; UPDATE audit_event SET detail = '\(hostile)' WHERE seq = 5;")
        let env = ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")]
        var outputs: [String: String] = [:]
        for format in ["fhir", "ndjson", "csv"] {
            let out = scratch.path("audit." + (format == "fhir" ? "json" : format))
            let result = try run(executable("switchboard"), ["audit", "export", "--audit", db.audit, "--format", format, "--out", out], environment: env)
            #expect(result.status == 0, "\(format): \(result.stderr)")
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(Self.unsafeScalars(in: text).isEmpty, "\(format) carries raw control or bidi characters: \(Self.unsafeScalars(in: text))")
            outputs[format] = out
        }
        #expect(try String(contentsOfFile: outputs["fhir"]!, encoding: .utf8).contains(#"\u001b[31mred\u0007\u009b2J\u202eevil\u2028x"#))

        let judge = try PythonJudge("fhir-resources", packages: ["fhir.resources"])
        let fhir = try judge.run(script: Self.fhirJudge, arguments: [outputs["fhir"]!, outputs["ndjson"]!])
        #expect(fhir.status == 0, "\(fhir.stdout)\(fhir.stderr)")
        #expect(fhir.stdout.contains("AUDITEVENTS \(2 * rows)"), "\(fhir.stdout)")

        let csv = try judge.run(script: Self.csvJudge, arguments: [outputs["csv"]!, "5"])
        #expect(csv.status == 0, "\(csv.stdout)\(csv.stderr)")
        #expect(csv.stdout.contains("ROWS \(rows)"))
        #expect(csv.stdout.contains(#"DETAIL {"note":"a\u{001B}[31mred\u{0007}\u{009B}2J\u{202E}evil\u{2028}x\",y"}"#), "\(csv.stdout)")
    }

    @Test func exportsARangeBySeqOrTimeToStdout() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 40)
        let env = ["XDG_STATE_HOME": scratch.path("state"), "XDG_CONFIG_HOME": scratch.path("config")]
        let bySeq = try run(executable("switchboard"), ["audit", "export", "--audit", db.audit, "--format", "ndjson", "--from", "10", "--to", "20"], environment: env)
        #expect(bySeq.status == 0)
        let lines = bySeq.stdout.split(separator: "\n")
        #expect(lines.count == 11 && lines.first?.contains("\"id\":\"audit-10\"") == true && lines.last?.contains("\"id\":\"audit-20\"") == true)

        let at = try E2E.value(db.audit, "SELECT at FROM audit_event WHERE seq = 30")
        let instant = try run("/usr/bin/date", ["-u", "-d", "@\(Int64(at)! / 1000)", "+%Y-%m-%dT%H:%M:%SZ"]).stdout.trimmingCharacters(in: .newlines)
        let byTime = try run(executable("switchboard"), ["audit", "export", "--audit", db.audit, "--format", "csv", "--from", instant], environment: env)
        let expected = Int(try E2E.value(db.audit, "SELECT count(*) FROM audit_event WHERE at >= \(Int64(at)! / 1000 * 1000)"))!
        #expect(byTime.status == 0 && byTime.stdout.split(separator: "\r\n").count == expected + 1)

        let bad = try run(executable("switchboard"), ["audit", "export", "--audit", db.audit, "--format", "xml"], environment: env)
        #expect(bad.status == 64 && bad.stderr.contains("--format must be fhir, ndjson or csv"))
    }
}
