import Foundation
import SwitchboardCore
import SwitchboardStore
import SwitchboardTesting
import Testing

@Suite(.serialized) struct OutageTests {
    /// A 25 s outage: queue mode after 10 s, calls still taken, and after recovery the
    /// outbox drains with every booking's appointment in the EHR exactly once.
    @Test func outageQueuesThenDrains() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site"), ndjson = scratch.path("events.ndjson")
        let sim = try RunningProcess(Sim.binary, ["run", "--dir", dir, "--load", "--rate", "600", "--concurrency", "40",
                                                  "--patients", "80", "--ndjson", ndjson])
        defer { sim.signal(SIGKILL) }
        let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite", ehr = dir + "/ehr-sandbox.sqlite"
        // In queue mode the agent books only for callers it found before the outage: the
        // EHR goes dark once it knows most of a small practice, however slow the machine.
        #expect(RunningProcess.waitUntil(timeout: 60) {
            ((try? Sim.count(audit, "SELECT count(*) FROM booking")) ?? 0) >= 20
                && ((try? Sim.count(audit, "SELECT count(DISTINCT patient_ref) FROM call")) ?? 0) >= 50
        })
        // Long enough that queue mode lasts a while even on a loaded machine: bookings
        // must be made in it.
        let outage = try run(Sim.binary, ["outage", "25s", "--dir", dir], timeout: 10)
        #expect(outage.status == 0, "\(outage.stderr)")
        let began = Date()
        #expect(RunningProcess.waitUntil(timeout: 20) { Sim.eventTypes(ndjson).contains { $0.line.contains(#""state":"queue_mode""#) } })
        #expect(Date().timeIntervalSince(began) >= 9.5, "queue mode came before 10 s of unreachability")
        #expect(RunningProcess.waitUntil(timeout: 60) {
            let states = Sim.eventTypes(ndjson).filter { $0.type == "ehr.state" }.map(\.line)
            guard let queue = states.lastIndex(where: { $0.contains("queue_mode") }) else { return false }
            return states[queue...].contains { $0.contains(#""state":"online""#) }
        })
        let stoppedAt = Clock.nowMillis()
        sim.signal(SIGTERM)
        #expect(try sim.waitForExit(timeout: 30) == 0)

        let states = Sim.eventTypes(ndjson).filter { $0.type == "ehr.state" }.map(\.line)
        var from = 0
        for state in ["degraded", "queue_mode", "recovering", "online"] {
            let next = states[from...].firstIndex { $0.contains(#""state":"\#(state)""#) }
            #expect(next != nil, "no \(state) after \(states[..<from])")
            from = (next ?? from) + 1
        }
        // Calls kept coming during the outage and their bookings waited in the outbox.
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE flags LIKE '%queued%'") > 0)
        // Everything went out except what SIGTERM interrupted (calls keep coming in load
        // mode): those were touched as the agent stopped and wait for the next start;
        // nothing from the outage is left, nothing is refused or doubled.
        #expect(try Sim.count(outbox, """
            SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed', 'in_flight')
            AND updated_at < \(stoppedAt - 3_000)
            """) == 0)
        let diedUnanswered = try Sim.lines(outbox, "SELECT operation || ': ' || coalesce(last_error, '') FROM outbox_item WHERE status = 'dead' AND last_http_status IS NULL")
        #expect(diedUnanswered.isEmpty, "died without an EHR answer: \(diedUnanswered)")
        // Nothing lost, nothing doubled: each delivered booking is one appointment in the EHR.
        #expect(try Sim.count(audit, "SELECT count(*) FROM booking WHERE appointment_ref LIKE 'Appointment?%'") == 0)
        try checkOneAppointmentPerBooking(audit: audit, ehr: ehr)
        #expect(try AuditStore(path: audit, mode: .readOnly).verifyChain().isIntact)
    }

    /// SIGKILL mid-run, then a restart on the same directory: no committed row lost, the
    /// chain intact, open calls closed, expired leases taken over and the outbox drained.
    @Test func killAndRestartLosesNothing() throws {
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.path("site")
        let audit = dir + "/audit.sqlite", outbox = dir + "/outbox.sqlite", ehr = dir + "/ehr-sandbox.sqlite"
        let first = try RunningProcess(Sim.binary, ["run", "--dir", dir, "--load", "--rate", "1200", "--patients", "300",
                                                    "--lease-seconds", "2", "--fault-latency-ms", "40"])
        #expect(RunningProcess.waitUntil(timeout: 30) { ((try? Sim.count(audit, "SELECT count(*) FROM call")) ?? 0) >= 60 })
        let before = try counts(audit: audit, outbox: outbox)
        first.signal(SIGKILL)
        _ = try first.waitForExit(timeout: 10)
        let afterKill = try counts(audit: audit, outbox: outbox)
        #expect(zip(afterKill, before).allSatisfy { $0 >= $1 }, "\(before) → \(afterKill)")
        let goLive = try Sim.lines(audit, "SELECT 1") // the file opens after the kill
        #expect(goLive == ["1"])
        let windowBefore = SimulatorFileText.goLive(dir)

        let second = try run(Sim.binary, ["run", "--dir", dir, "--load", "--calls", "10", "--exit-when-done"], timeout: 90)
        #expect(second.status == 0, "\(second.stderr)")
        let after = try counts(audit: audit, outbox: outbox)
        #expect(zip(after, afterKill).allSatisfy { $0 >= $1 }, "\(afterKill) → \(after)")
        #expect(SimulatorFileText.goLive(dir) == windowBefore)
        #expect(try AuditStore(path: audit, mode: .readOnly).verifyChain().isIntact)
        #expect(try Sim.count(audit, "SELECT count(*) FROM call WHERE ended_at IS NULL") == 0)
        #expect(try Sim.count(outbox, "SELECT count(*) FROM outbox_item WHERE status IN ('pending', 'failed', 'in_flight')") == 0)
        try checkOneAppointmentPerBooking(audit: audit, ehr: ehr)
    }

    /// Rows in audit_event, call, booking; outbox items and attempts.
    private func counts(audit: String, outbox: String) throws -> [Int] {
        [try Sim.count(audit, "SELECT count(*) FROM audit_event"), try Sim.count(audit, "SELECT count(*) FROM call"),
         try Sim.count(audit, "SELECT count(*) FROM booking"), try Sim.count(outbox, "SELECT count(*) FROM outbox_item"),
         try Sim.count(outbox, "SELECT count(*) FROM outbox_attempt")]
    }

    private func checkOneAppointmentPerBooking(audit: String, ehr: String) throws {
        let booked = try Sim.lines(audit, "SELECT booking_id FROM booking WHERE kind = 'book'")
        #expect(!booked.isEmpty)
        let inEHR = try Sim.lines(ehr, "SELECT substr(identifier_key, length('urn:switchboard:booking|') + 1) FROM appointment WHERE identifier_key LIKE 'urn:switchboard:booking|%'")
        #expect(Set(inEHR).count == inEHR.count, "an appointment was created twice")
        #expect(Set(booked).isSubset(of: Set(inEHR)), "bookings without their appointment: \(Set(booked).subtracting(inEHR).prefix(5))")
    }
}

enum SimulatorFileText {
    static func goLive(_ dir: String) -> Int64? {
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/simulator.json"))) as? [String: Any])?["go_live_start_ms"]
            .flatMap { ($0 as? NSNumber)?.int64Value }
    }
}
