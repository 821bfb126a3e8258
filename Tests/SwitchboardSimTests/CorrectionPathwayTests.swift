import Foundation
import SwitchboardCore
import SwitchboardEHR
import SwitchboardTesting
import Testing

/// A reviewer's correction reaches the EHR on the site's own pathway: the real
/// `switchboard review correct` queues it, the real simulator's outbox worker sends it, and
/// the sandbox's database shows the appointment moved or cancelled.
@Suite(.serialized) struct CorrectionPathwayTests {
    struct Site {
        let dir: String
        let sim: RunningProcess
        var audit: String { dir + "/audit.sqlite" }
        var outbox: String { dir + "/outbox.sqlite" }
        var ehr: String { dir + "/ehr-sandbox.sqlite" }
        var config: String { dir + "/switchboard.toml" }
    }

    /// A simulated site whose 20 calls are done and whose writes are all sent; it keeps
    /// running, so its outbox worker sends what the console queues.
    static let calls = 40

    func site(_ transport: String, _ scratch: Scratch) throws -> Site {
        let dir = scratch.path("site")
        // 40 calls leave about 15 bookings nothing moved or cancelled since (20 left 4, and
        // under load as few as 1: calls race for slots, so how many depends on timing).
        let sim = try RunningProcess(Sim.binary, ["run", "--dir", dir, "--load", "--calls", String(Self.calls), "--transport", transport,
                                                  "--patients", "300", "--seed", "3"])
        let site = Site(dir: dir, sim: sim)
        let settled = RunningProcess.waitUntil(timeout: 60) {
            (try? Sim.count(site.audit, "SELECT count(*) FROM call WHERE ended_at IS NOT NULL")) == Self.calls
                && (try? Sim.count(site.outbox, "SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed', 'in_flight')")) == 0
        }
        try #require(settled, "the simulator did not finish its calls: \(sim.stderr)")
        return site
    }

    /// New bookings nothing moved or cancelled since: (booking id, EHR appointment id, practitioner in the sandbox).
    func untouchedBookings(_ site: Site) throws -> [(id: String, appointment: String, practitioner: String)] {
        try Sim.lines(site.audit, """
            SELECT b.booking_id || '|' || substr(b.appointment_ref, 13) || '|' || substr(b.provider_ref, 14) FROM booking b
            WHERE b.kind = 'book' AND b.appointment_version IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM booking c WHERE c.appointment_ref = b.appointment_ref AND c.kind <> 'book')
            ORDER BY b.booked_at
            """).map { line in
            let p = line.split(separator: "|").map(String.init)
            return (p[0], p[1], p[2].hasPrefix("pr-") ? p[2] : "pr-" + p[2])
        }
    }

    /// The sandbox's row id for a REST appointment id (its row number) or the FHIR id itself.
    func sandboxAppointment(_ id: String, _ site: Site) throws -> String {
        Int(id) == nil ? id : try sqlite3(site.ehr, "SELECT id FROM appointment WHERE rowid = \(id)").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func correctionSettled(_ site: Site, _ booking: String) -> Bool {
        RunningProcess.waitUntil(timeout: 30) {
            (try? Sim.count(site.outbox, """
                SELECT count(*) FROM outbox_item WHERE booking_id = '\(booking)' AND idempotency_key LIKE 'correction:%'
                AND status IN ('succeeded', 'dead')
                """)) == 1
        }
    }

    func moveAndCancel(_ transport: String, slotRef: (_ rowid: String, _ id: String) -> String) throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let site = try site(transport, scratch)
        defer { site.sim.signal(SIGTERM); _ = try? site.sim.waitForExit(timeout: 20) }
        let bookings = try untouchedBookings(site)
        try #require(bookings.count >= 2, "bookings: \(bookings)")

        // Move the first into a free slot of the same provider, a day or more ahead.
        let first = bookings[0]
        let slot = try Sim.lines(site.ehr, """
            SELECT s.rowid || '|' || s.id || '|' || s.start_ms || '|' || s.end_ms FROM slot s JOIN schedule sc ON sc.id = s.schedule_id
            WHERE sc.practitioner_id = '\(first.practitioner)' AND s.status = 'free' AND s.start_ms > \(Clock.nowMillis() + 86_400_000)
            ORDER BY s.start_ms LIMIT 1
            """).first.map { $0.split(separator: "|").map(String.init) }
        let free = try #require(slot)
        let iso = { (ms: String) in FHIRInstant(millis: Int64(ms)!).text }
        let correct = try run(executable("switchboard"), [
            "review", "correct", first.id, "--config", site.config, "--category", "wrong_time",
            "--slot", slotRef(free[0], free[1]), "--start", iso(free[2]), "--end", iso(free[3]),
        ])
        #expect(correct.status == 0, "\(correct.stderr)")
        #expect(correctionSettled(site, first.id))
        let item = try Sim.lines(site.outbox, """
            SELECT transport || '|' || operation || '|' || status FROM outbox_item
            WHERE booking_id = '\(first.id)' AND idempotency_key LIKE 'correction:%'
            """)
        #expect(item == ["\(transport)|\(transport == "hl7v2" ? "hl7.siu_s13" : "appointment.update")|succeeded"])
        let moved = try sandboxAppointment(first.appointment, site)
        #expect(try Sim.count(site.ehr, "SELECT count(*) FROM slot_hold WHERE slot_id = '\(free[1])' AND appointment_id = '\(moved)'") == 1)
        #expect(try Sim.count(site.ehr, "SELECT count(*) FROM appointment WHERE id = '\(moved)' AND start_ms = \(free[2])") == 1)

        // Cancel the second: it should not exist.
        let second = bookings[1]
        let cancel = try run(executable("switchboard"), [
            "review", "correct", second.id, "--config", site.config, "--category", "should_not_exist", "--cancel",
        ])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(correctionSettled(site, second.id))
        let cancelled = try sandboxAppointment(second.appointment, site)
        #expect(try Sim.count(site.ehr, "SELECT count(*) FROM appointment WHERE id = '\(cancelled)' AND status = 'cancelled'") == 1)
        #expect(try Sim.count(site.ehr, "SELECT count(*) FROM slot_hold WHERE appointment_id = '\(cancelled)'") == 0)
        if transport == "hl7v2" {
            #expect(try Sim.count(site.outbox, """
                SELECT count(*) FROM outbox_attempt a JOIN outbox_item i ON i.id = a.item_id
                WHERE i.idempotency_key LIKE 'correction:%' AND a.ack_code = 'AA'
                """) == 2)
            #expect(try Sim.count(site.outbox, "SELECT count(*) FROM outbox_item WHERE operation = 'hl7.siu_s15' AND idempotency_key LIKE 'correction:%'") == 1)
        }
    }

    @Test func restSiteCorrectionIsTheRESTUpdate() throws {
        try moveAndCancel("rest") { rowid, _ in "Slot/\(rowid)" }
    }

    @Test func hl7SiteCorrectionIsSIU() throws {
        try moveAndCancel("hl7v2") { _, id in "Slot/\(id)" }
    }

    /// On HL7 v2 the correction names the version it starts from (ZSB-1); the EHR refuses a
    /// changed appointment with ACK AE 206, and the booking goes to the same "decide again".
    @Test func hl7RefusalLeadsToDecideAgain() throws {
        try refusalLeadsToDecideAgain("hl7v2")
    }

    /// Someone changed the appointment in the EHR: the REST API refuses the correction 412,
    /// and the booking goes to the same "decide again" as on FHIR, whose read of the
    /// appointment goes over the REST API too.
    @Test func restRefusalLeadsToDecideAgain() throws {
        try refusalLeadsToDecideAgain("rest")
    }

    func refusalLeadsToDecideAgain(_ transport: String) throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let site = try site(transport, scratch)
        defer { site.sim.signal(SIGTERM); _ = try? site.sim.waitForExit(timeout: 20) }
        let booking = try #require(try untouchedBookings(site).first)
        let control = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: site.dir + "/simulator.json"))) as? [String: Any])["control_url"] as? String
        let faults = try run("/usr/bin/curl", ["-s", "-X", "POST", try #require(control) + "/faults", "-d", #"{"versionConflictRate":1}"#])
        #expect(faults.status == 0)
        let correct = try run(executable("switchboard"), [
            "review", "correct", booking.id, "--config", site.config, "--category", "should_not_exist", "--cancel",
        ])
        #expect(correct.status == 0, "\(correct.stderr)")
        #expect(correctionSettled(site, booking.id))
        #expect(try Sim.count(site.outbox, """
            SELECT count(*) FROM outbox_item WHERE booking_id = '\(booking.id)' AND status = 'dead'
            AND (last_http_status = 412 OR last_error LIKE 'ACK AE 206%')
            """) == 1)
        let again = try run(executable("switchboard"), ["review", "again", booking.id, "--config", site.config, "--keep-ehr"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("Appointment/\(booking.appointment) changed in the EHR"))
        #expect(try Sim.count(site.audit, "SELECT count(*) FROM audit_event WHERE action = 'review.accept_ehr'") == 1)
    }
}
