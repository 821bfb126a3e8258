import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// What the console itself reads from the EHR leaves an audit row, like the agent's reads.
/// The EHR here is a server in this process, on the concurrency pool: the tests wait
/// without blocking (`settle`, `eventually`) so that it can answer.
@Suite(.serialized) struct ConsoleEHRReadAuditTests {
    /// Checks `condition` until it holds or `timeout` passes, sleeping between looks.
    static func eventually(_ driver: ProgramDriver<Console>, timeout: Double = 20, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            await driver.settle(timeout: 0.5)
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    static let practitioners = #"""
        {"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Practitioner","id":"pr-1","active":true,
        "name":[{"family":"Okafor","given":["Ada"]}]}}]}
        """#

    @Test func theCorrectionFormsProviderAndSlotReadsAreAuditedWithWhoReadAndHowLong() async throws {
        let peer = try await LoopbackPeer.start()
        await peer.route("GET /fhir/Practitioner") { _ in .text(200, Self.practitioners, ["Content-Type": "application/fhir+json"]) }
        // Every other read fails: the slot search's row says how.
        await peer.route("GET /fhir/*") { _ in .text(500, #"{"resourceType":"OperationOutcome","issue":[]}"#) }
        let practice = try ReviewScreenTests.Practice()
        var configuration = practice.configuration(role: .reviewer)
        configuration.ehrBaseURL = peer.baseURL + "/fhir"
        let driver = ProgramDriver(try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: practice.environment),
                                   size: Size(width: 120, height: 30))
        driver.terminal.push([.char("c")])
        let rows = { () throws -> String in
            try sqlite3(practice.auditPath, """
                SELECT action, actor, transport, method, resource_type, outcome, ifnull(http_status, ''), latency_ms IS NOT NULL,
                       json_extract(detail, '$.role'), json_extract(detail, '$.uid')
                FROM audit_event WHERE action IN ('practitioner.search', 'slot.search') AND actor LIKE 'operator:%' ORDER BY seq
                """)
        }
        #expect(await Self.eventually(driver) { ((try? rows()) ?? "").contains("slot.search") }, "\(driver.screenText)")
        let lines = try rows().split(separator: "\n").map(String.init)
        let who = "operator:\(practice.user)"
        #expect(lines.contains("practitioner.search|\(who)|fhir|GET|Practitioner|0||1|reviewer|\(geteuid())"), "\(lines)")
        #expect(lines.contains("slot.search|\(who)|fhir|GET|Slot|8|500|1|reviewer|\(geteuid())"), "\(lines)")
        #expect(try practice.audit.verifyChain().isIntact)
        await peer.stop()
    }

    /// `c` on a booking whose correction the EHR refused (412) reads the appointment as it
    /// is now: that read is audited too, naming the appointment and the booking's call.
    @Test func theAppointmentReadBehindA412IsAudited() async throws {
        let peer = try await LoopbackPeer.start()
        let appointment = #"{"resourceType":"Appointment","id":"bk-1","meta":{"versionId":"3"},"status":"booked","#
            + #""start":"2027-01-15T15:00:00Z","end":"2027-01-15T15:20:00Z","participant":[{"actor":{"reference":"Practitioner/dr-okafor"},"status":"accepted"}]}"#
        await peer.route("GET /fhir/Appointment/bk-1") { _ in .text(200, appointment, ["Content-Type": "application/fhir+json", "ETag": #"W/"3""#]) }
        let scratch = Scratch()
        defer { scratch.cleanUp() }
        let now = Clock.nowMillis()
        let audit = try AuditStore(path: scratch.path("audit.sqlite"), mode: .create)
        let outbox = try OutboxStore(path: scratch.path("outbox.sqlite"), mode: .create)
        try audit.recordAgentWork(bookings: [sampleBooking("bk-1", bookedAt: now - 60_000)])
        let me = OperatorIdentity(user: "maria.g", role: .reviewer)
        _ = try ReviewActions(audit: audit, outbox: outbox, operator: me, undoSeconds: 5)
            .correct(Correction(bookingId: "bk-1", category: .wrongTime, newStart: now + 90_000_000), now: now - 30_000)
        let claimed = try #require(try outbox.claimNext(owner: "agent", leaseMillis: 30_000, now: now - 20_000))
        try outbox.complete(id: claimed.id, owner: "agent", startedAt: now - 20_000,
                            result: .failed(error: "HTTP 412", httpStatus: 412, ackCode: nil, retryAt: nil), now: now - 19_000)

        var configuration = ConsoleConfiguration()
        configuration.auditPath = scratch.path("audit.sqlite")
        configuration.outboxPath = scratch.path("outbox.sqlite")
        configuration.goLiveStart = now - 3_600_000
        configuration.theme = "default"
        configuration.ehrBaseURL = peer.baseURL + "/fhir"
        let environment = ["HOME": scratch.url.path, "XDG_CONFIG_HOME": scratch.url.path]
        let driver = ProgramDriver(try ConsoleRunner.prepare(configuration: configuration, warnings: [], environment: environment),
                                   size: Size(width: 120, height: 30))
        driver.terminal.push([.char("c")])
        let query = """
            SELECT actor || '|' || call_id || '|' || method || '|' || resource_id || '|' || outcome || '|' || (http_status IS NULL) || '|'
                   || (latency_ms IS NOT NULL) || '|' || json_extract(detail, '$.role') || ifnull('|' || json_extract(detail, '$.error'), '')
            FROM audit_event WHERE action = 'appointment.read'
            """
        #expect(await Self.eventually(driver) { !((try? sqlite3(scratch.path("audit.sqlite"), query)) ?? "").isEmpty }, "\(driver.screenText)")
        let row = try sqlite3(scratch.path("audit.sqlite"), query).trimmingCharacters(in: .whitespacesAndNewlines)
        let who = OperatorIdentity.current(configuration: configuration, environment: environment).user
        #expect(row == "operator:\(who)|call-bk-1|GET|Appointment/bk-1|0|1|1|reviewer", "\(row)")
        await peer.stop()
    }
}
