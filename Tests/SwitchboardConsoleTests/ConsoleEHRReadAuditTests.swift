import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// What the console itself reads from the EHR leaves an audit row, like the agent's reads.
@Suite struct ConsoleEHRReadAuditTests {
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
        driver.press("c")
        let rows = { () throws -> String in
            try sqlite3(practice.auditPath, """
                SELECT action, actor, transport, method, resource_type, outcome, ifnull(http_status, ''), latency_ms IS NOT NULL,
                       json_extract(detail, '$.role'), json_extract(detail, '$.uid')
                FROM audit_event WHERE action IN ('practitioner.search', 'slot.search') AND actor LIKE 'operator:%' ORDER BY seq
                """)
        }
        #expect(RunningProcess.waitUntil(timeout: 20) {
            _ = driver.waitUntilIdle(timeout: 0.2)
            return ((try? rows()) ?? "").contains("slot.search")
        }, "\(driver.screenText)")
        let lines = try rows().split(separator: "\n").map(String.init)
        let who = "operator:\(practice.user)"
        #expect(lines.contains("practitioner.search|\(who)|fhir|GET|Practitioner|0||1|reviewer|\(geteuid())"), "\(lines)")
        #expect(lines.contains("slot.search|\(who)|fhir|GET|Slot|8|500|1|reviewer|\(geteuid())"), "\(lines)")
        #expect(try practice.audit.verifyChain().isIntact)
        await peer.stop()
    }
}
