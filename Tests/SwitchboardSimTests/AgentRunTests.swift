import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore
import SwitchboardTesting
import Testing

/// The real `switchboard-sim run` process on real sockets and files.
enum Sim {
    static var binary: String { executable("switchboard-sim") }

    static func count(_ path: String, _ sql: String) throws -> Int {
        Int(try sqlite3(path, sql).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    static func lines(_ path: String, _ sql: String) throws -> [String] {
        try sqlite3(path, sql).split(separator: "\n").map(String.init)
    }

    static func eventTypes(_ ndjson: String) -> [(id: Int64, type: String, line: String)] {
        ((try? String(contentsOfFile: ndjson, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = (object["id"] as? NSNumber)?.int64Value, let type = object["type"] as? String else { return nil }
            return (id, type, String(line))
        }
    }
}

@Suite(.serialized) struct AgentRunTests {
    /// The integration guide's day-4 protocol: 100 calls over every workflow and edge case,
    /// then the invariants, read from the SQLite files themselves.
    @Test func dayFourProtocol() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.url.appendingPathComponent("site").path
        let ndjson = scratch.path("events.ndjson")
        let result = try run(Sim.binary, ["run", "--dir", dir, "--load", "--calls", "100", "--exit-when-done", "--patients", "500",
                                          "--fault-error-rate", "0.02", "--ndjson", ndjson], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("event stream     http://127.0.0.1:"))
        let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite", ehr = dir + "/ehr-sandbox.sqlite"

        #expect(try Sim.count(audit, "SELECT count(*) FROM call") == 100)
        #expect(try Sim.count(audit, "SELECT count(*) FROM call WHERE ended_at IS NULL") == 0)
        let intents = Set(try Sim.lines(audit, "SELECT DISTINCT intent FROM call"))
        #expect(intents == Set(Workflow.allCases.map(\.rawValue)), "workflows seen: \(intents)")

        // Every EHR request has exactly one audit row: what the sandbox holds matches the
        // successful creates the audit says were made, one for one.
        let notes = try Sim.count(ehr, "SELECT count(*) FROM communication")
        #expect(notes > 0)
        #expect(notes == (try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE action = 'communication.create' AND http_status = 201")))
        let appointments = try Sim.count(ehr, "SELECT count(*) FROM appointment")
        #expect(appointments > 0)
        #expect(appointments == (try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE action = 'appointment.create' AND http_status = 201")))
        #expect(try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE transport IS NULL OR actor NOT LIKE 'agent:sim-%'") == 0)
        // And counted from the EHR's side: every request that reached it has its row.
        let served = try #require(SandboxStatistics.read(from: URL(fileURLWithPath: dir)), "sandbox-stats.json written on stop")
        #expect(served.fhirRequests == (try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE transport = 'fhir'")),
                "the EHR served \(served.fhirRequests) FHIR requests")
        // No search terms (names, birth dates, phones) in the detail.
        #expect(try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE detail LIKE '%birthdate=%' OR detail LIKE '%family=%' OR detail LIKE '%Bearer%'") == 0)

        let store = try AuditStore(path: audit, mode: .readOnly)
        let chain = try store.verifyChain()
        #expect(chain.isIntact, "\(chain.reason ?? "")")
        #expect(chain.checked == (try Sim.count(audit, "SELECT count(*) FROM audit_event")))

        // No slot is held by two live appointments.
        #expect(try Sim.count(ehr, """
            SELECT count(*) FROM (SELECT json_extract(json, '$.slot[0].reference') AS s FROM appointment
            WHERE status = 'booked' GROUP BY s HAVING count(*) > 1)
            """) == 0)
        // Every write went through the outbox with its own idempotency key and a conditional.
        let writes = try Sim.count(outbox, "SELECT count(*) FROM outbox_item")
        #expect(writes == (try Sim.count(outbox, "SELECT count(DISTINCT idempotency_key) FROM outbox_item WHERE idempotency_key <> ''")))
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE operation = 'appointment.create' AND request NOT LIKE '%If-None-Exist%'") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE operation = 'appointment.update' AND request NOT LIKE '%If-Match%'") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed', 'in_flight')") == 0)
        #expect(writes == (try Sim.count(audit, "SELECT count(DISTINCT json_extract(detail, '$.outbox_item')) FROM audit_event WHERE json_extract(detail, '$.outbox_item') IS NOT NULL")))
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_attempt") >= writes)
        // Bookings point at real appointments and are flagged inside the go-live window.
        let bookings = try Sim.count(audit, "SELECT count(*) FROM booking")
        #expect(bookings > 0)
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE review_required = 1 AND flags LIKE '%go_live%'") == bookings)
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE appointment_version IS NULL OR appointment_ref NOT LIKE 'Appointment/%'") == 0)
        // Edge cases showed up: patients not found, a wrong birth date, a full day.
        #expect(try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE action = 'patient.search' AND outcome = 4") > 0)
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE flags LIKE '%low_identity_match%'") + (try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE json_extract(detail, '$.by') = 'phone'")) > 0)

        let types = Set(Sim.eventTypes(ndjson).map(\.type))
        for type in ["call.started", "call.step", "call.ended", "booking.created", "outbox.enqueued", "outbox.attempt", "ehr.state", "agent.heartbeat"] {
            #expect(types.contains(type), "no \(type) event")
        }
        let ids = Sim.eventTypes(ndjson).map(\.id)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        let file = try #require(try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/simulator.json"))) as? [String: Any])
        #expect((file["events_url"] as? String)?.hasSuffix("/events") == true)
        #expect(file["go_live_start_ms"] is NSNumber)
    }

    /// A site on HL7 v2: appointment writes go as SIU over MLLP, audited as such, and the
    /// bookings learn the appointment the EHR made from them.
    /// `switchboard demo` opens with something for on-call to decide: the warm-up's
    /// appointment updates are refused 412 at the share asked for, the live calls' are not.
    @Test func warmUpConflictsAreLeftDeadAndTheLiveCallsGetNone() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let result = try run(Sim.binary, ["run", "--dir", dir, "--load", "--warm-up-calls", "60", "--warm-up-hours", "3",
                                          "--warm-up-conflict-rate", "1", "--calls", "100", "--exit-when-done", "--patients", "300"],
                             timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let outbox = dir + "/outbox.sqlite"
        // Appointment updates by when their call started against the first live call's
        // start (every warm-up call had ended by then).
        func updates(_ condition: String) throws -> Int {
            try Sim.count(outbox, """
                ATTACH '\(dir)/audit.sqlite' AS a;
                WITH live AS (SELECT started_at AS at FROM a.call ORDER BY started_at LIMIT 1 OFFSET 60)
                SELECT count(*) FROM outbox_item i JOIN a.call c ON c.call_id = i.call_id, live
                WHERE i.operation = 'appointment.update' AND \(condition)
                """)
        }
        let injected = "i.status = 'dead' AND i.last_error LIKE '%(injected)%'"
        #expect(try updates("c.started_at < live.at AND \(injected)") >= 1, "the warm-up's updates were refused")
        #expect(try updates("c.started_at < live.at AND i.status <> 'dead'") == 0, "every one of them")
        #expect(try updates("c.started_at >= live.at") >= 1, "live calls updated appointments too")
        #expect(try updates("c.started_at >= live.at AND \(injected)") == 0, "and none of theirs was refused")
        // Every warm-up call is played at the replay's speed to its end: none is squashed
        // into the moment the replay meets the real clock (a 5-step call of 32 ms once).
        let squashed = try Sim.count(dir + "/audit.sqlite", """
            WITH warm AS (SELECT * FROM call ORDER BY started_at LIMIT 60)
            SELECT count(*) FROM warm WHERE ended_at - started_at < 5000
            """)
        #expect(squashed == 0, "warm-up calls shorter than 5 s")
        let refused = try run(Sim.binary, ["run", "--dir", dir, "--warm-up-conflict-rate", "0.5"], timeout: 30)
        #expect(refused.status == 64 && refused.stderr.contains("--warm-up-conflict-rate needs --warm-up-calls"), "\(refused.stderr)")
    }

    @Test func hl7SiteWritesSIU() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let result = try run(Sim.binary, ["run", "--dir", dir, "--load", "--calls", "40", "--exit-when-done", "--transport", "hl7v2",
                                          "--patients", "300"], timeout: 90)
        #expect(result.status == 0, "\(result.stderr)")
        let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite"
        let sent = try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE operation LIKE 'hl7.siu_%' AND transport = 'hl7v2'")
        #expect(sent > 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE operation LIKE 'appointment.%'") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_attempt WHERE ack_code = 'AA'") >= sent)
        #expect(try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE transport = 'hl7v2' AND method LIKE 'SIU^S1%'") >= sent)
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE appointment_ref NOT LIKE 'Appointment/%' OR appointment_version IS NULL") == 0)
    }

    /// A site on the vendor's REST API: every read and write goes over it (none over FHIR),
    /// every request the EHR served has its audit row, and bookings carry the API's own
    /// appointment ids and versions.
    @Test func restSiteRunsOverTheVendorAPI() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let result = try run(Sim.binary, ["run", "--dir", dir, "--load", "--calls", "40", "--exit-when-done", "--transport", "rest",
                                          "--patients", "300"], timeout: 90)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("REST base URL    http://127.0.0.1:"))
        let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite", ehr = dir + "/ehr-sandbox.sqlite"
        #expect(try Sim.count(audit, "SELECT count(*) FROM call WHERE ended_at IS NULL") == 0)
        #expect(try Sim.count(audit, "SELECT count(*) FROM audit_event WHERE transport <> 'rest'") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE transport <> 'rest'") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE request NOT LIKE '%Idempotency-Key%'") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed', 'in_flight')") == 0)
        let served = try #require(SandboxStatistics.read(from: URL(fileURLWithPath: dir)))
        #expect(served.fhirRequests == (try Sim.count(audit, "SELECT count(*) FROM audit_event")))
        let created = try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE operation = 'appointment.create' AND status = 'succeeded'")
        #expect(created > 0)
        #expect(try Sim.count(ehr, "SELECT count(*) FROM appointment") == created)
        // Call notes and, on this pathway, refill requests are both chart notes.
        #expect(try Sim.count(ehr, "SELECT count(*) FROM communication") ==
                (try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE operation IN ('communication.create', 'task.create') AND status = 'succeeded'")))
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE appointment_ref NOT GLOB 'Appointment/[0-9]*' OR appointment_version IS NULL") == 0)
        let toml = try String(contentsOfFile: dir + "/switchboard.toml", encoding: .utf8)
        #expect(toml.contains("pathway = \"rest\"") && toml.contains("/v1/195900\""))
    }

    @Test func badInputIsOneLineAndNonZero() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let first = try RunningProcess(Sim.binary, ["run", "--dir", scratch.path("site"), "--patients", "100", "--rate", "1"])
        defer { first.signal(SIGKILL) }
        #expect(RunningProcess.waitUntil(timeout: 30) { first.stdout.contains("Ctrl-C stops") })
        let second = try run(Sim.binary, ["run", "--dir", scratch.path("site")], timeout: 30)
        #expect(second.status != 0)
        #expect(second.stderr.contains("another simulator is already running"))
        #expect(second.stderr.split(separator: "\n").count == 1)

        let bad = try run(Sim.binary, ["run", "--dir", "/proc/switchboard"], timeout: 30)
        #expect(bad.status != 0)
        // The system's reason, not Foundation's "The operation could not be completed." with a second full stop.
        #expect(bad.stderr == "switchboard-sim: cannot create /proc/switchboard: No such file or directory. Choose a writable directory.\n",
                "\(bad.stderr)")
        // A file where the directory should be: said as such, for run and generate alike.
        let file = scratch.path("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        for arguments in [["run", "--dir", file], ["generate", "--out", file, "--calls", "1"]] {
            let onFile = try run(Sim.binary, arguments, timeout: 30)
            #expect(onFile.status == 73 && onFile.stderr == "switchboard-sim: \(file) is a file, not a directory. Choose a directory (it is created if missing).\n",
                    "\(arguments[0]): \(onFile.stderr)")
        }
        let under = try run(Sim.binary, ["generate", "--out", file + "/site", "--calls", "1"], timeout: 30)
        #expect(under.status == 73 && under.stderr == "switchboard-sim: cannot create \(file)/site: Not a directory. Choose a writable directory.\n",
                "\(under.stderr)")
        let nothing = try run(Sim.binary, ["outage", "5s", "--dir", scratch.path("nothing")], timeout: 30)
        #expect(nothing.status != 0)
        #expect(nothing.stderr.contains("no simulator is running"))
        let duration = try run(Sim.binary, ["outage", "soon", "--dir", scratch.path("site")], timeout: 30)
        #expect(duration.status == 64)

        first.signal(SIGTERM)
        #expect(try first.waitForExit(timeout: 30) == 0)
        #expect(first.stdout.contains("switchboard-sim: stopped"))
    }
}
