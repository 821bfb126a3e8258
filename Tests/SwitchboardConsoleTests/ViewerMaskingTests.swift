import Foundation
import SwitchboardConsole
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import SwitchboardTesting
import TerminalUI
import Testing

/// A viewer sees the shape of what the agent sent and did, never a patient's details,
/// unless they reveal one record on purpose, which the audit records.
@Suite struct ViewerMaskingTests {
    typealias Practice = ReviewScreenTests.Practice

    static let hl7 = "MSH|^~\\&|SWITCHBOARD|CLINIC|EHR|EHR|20261129101500||SIU^S12|42|P|2.5.1\r"
        + "PID|1||p-77^^^MRN||Sahin^Omar||19800214|M|||12 Elm St^^Springfield^IL||555-0142\r"
        + "SCH|a-77||||||Follow-up for Omar Sahin"
    static let fhir = #"{"resourceType":"Patient","name":[{"family":"Sahin","given":["Omar"]}],"birthDate":"1980-02-14","#
        + #""telecom":[{"system":"phone","value":"555-0142"}],"address":[{"line":["12 Elm St"],"city":"Springfield"}]}"#
    static let secrets = ["Sahin", "Omar", "19800214", "1980-02-14", "555-0142", "Elm St"]

    /// Two stuck items, one HL7 and one FHIR, whose requests carry a patient.
    static func items(_ practice: Practice) throws {
        let outbox = try OutboxStore(path: practice.outboxPath, mode: .readWrite)
        func item(_ id: String, transport: Transport, url: String, body: String) throws {
            let request = JSONText.object(["method": transport == .hl7v2 ? "MLLP" : "POST", "url": url, "headers": [String: Any](), "body": body])
            var item = OutboxItem(id: id, createdAt: Clock.nowMillis(), callId: "call-phi", bookingId: nil, ehrSystem: "epic-sandbox",
                                  transport: transport, operation: "patient.create", request: request, idempotencyKey: "key-\(id)",
                                  updatedAt: Clock.nowMillis())
            item.status = .dead
            item.nextAttemptAt = nil
            try outbox.enqueue([item])
        }
        try item("ob-phi-hl7", transport: .hl7v2, url: "mllp://127.0.0.1:2575", body: hl7)
        try item("ob-phi-fhir", transport: .fhir, url: "https://ehr.example.org/fhir/Patient?name=Sahin&birthdate=1980-02-14", body: fhir)
    }

    static func open(_ id: String, _ driver: ProgramDriver<Console>) {
        driver.press("4", "/")
        driver.type(id)
        driver.press("enter", "enter")
    }

    @Test func aViewerSeesHL7AndFHIRBodiesMaskedAndRevealsOneOnPurposeWithAnAuditRow() throws {
        let practice = try Practice()
        try Self.items(practice)
        let viewer = try practice.driver(role: .viewer, size: Size(width: 140, height: 40))
        Self.open("ob-phi-hl7", viewer)
        var screen = viewer.screenText
        #expect(screen.contains("Outbox item ob-phi-hl7") && screen.contains("PID|•••") && screen.contains("SCH|•••"), "\(screen)")
        #expect(screen.contains("MSH|^~\\&|SWITCHBOARD"), "the routing header stays")
        for secret in Self.secrets { #expect(!screen.contains(secret), "\(secret) on a viewer's screen") }
        #expect(viewer.footer.contains("P show patient"), "\(viewer.footer)")

        viewer.press("P")
        screen = viewer.screenText
        #expect(screen.contains("PID|1||p-77^^^MRN||Sahin^Omar||19800214"), "\(screen)")
        #expect(viewer.messageLine.contains("the audit records that you looked"))
        let rows = try sqlite3(practice.auditPath, """
            SELECT actor, call_id, json_extract(detail, '$.screen'), json_extract(detail, '$.item_id'), json_extract(detail, '$.role')
            FROM audit_event WHERE action = 'phi.reveal'
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rows == "operator:\(practice.user)|call-phi|outbox|ob-phi-hl7|viewer", "\(rows)")

        // Another item is masked again: a reveal is one record, not a mode.
        viewer.press("esc", "esc")
        Self.open("ob-phi-fhir", viewer)
        screen = viewer.screenText
        #expect(screen.contains("Patient body, patient details masked") && screen.contains("birthDate"), "\(screen)")
        #expect(screen.contains("https://ehr.example.org/fhir/Patient?•••"))
        for secret in Self.secrets { #expect(!screen.contains(secret), "\(secret) on a viewer's screen") }
    }

    @Test func aReviewerSeesTheBodyWholeAndHasNoRevealKey() throws {
        let practice = try Practice()
        try Self.items(practice)
        let reviewer = try practice.driver(role: .reviewer, size: Size(width: 140, height: 40))
        Self.open("ob-phi-hl7", reviewer)
        #expect(reviewer.screenText.contains("Sahin^Omar||19800214"))
        #expect(!reviewer.footer.contains("show patient"))
        reviewer.press("P")
        #expect(try sqlite3(practice.auditPath, "SELECT count(*) FROM audit_event WHERE action = 'phi.reveal'").hasPrefix("0"))
    }

    @Test func theAuditScreenMasksPatientReferencesAndNotesForAViewer() throws {
        let practice = try Practice()
        let viewer = try practice.driver(role: .viewer, size: Size(width: 140, height: 40))
        viewer.press("5", "/")
        viewer.type("action:patient.create")
        viewer.press("enter")
        let listed = viewer.screenText
        #expect(listed.contains("Patient/•••") && listed.firstMatch(of: /Patient\/p\d/) == nil, "\(listed)")
        viewer.press("enter")
        #expect(viewer.screenText.contains("POST Patient/•••"), "\(viewer.screenText)")
        viewer.press("P")
        #expect(viewer.screenText.firstMatch(of: /POST Patient\/p\d+/) != nil, "\(viewer.screenText)")
        let row = try sqlite3(practice.auditPath, "SELECT json_extract(detail, '$.screen') FROM audit_event WHERE action = 'phi.reveal'")
        #expect(row.hasPrefix("audit"))

        let reviewer = try practice.driver(role: .reviewer, size: Size(width: 140, height: 40))
        reviewer.press("5", "/")
        reviewer.type("action:patient.create")
        reviewer.press("enter")
        #expect(reviewer.screenText.firstMatch(of: /Patient\/p\d/) != nil)
    }

    @Test func aViewerSeesNoCallSummaryUntilRevealingThatCall() throws {
        let practice = try Practice()
        let summarised = try #require(try sqlite3(practice.auditPath,
            "SELECT call_id || '|' || summary FROM call WHERE summary IS NOT NULL AND ended_at IS NOT NULL ORDER BY started_at DESC LIMIT 1")
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|", maxSplits: 1).map(String.init) as [String]?)
        let (callId, summary) = (summarised[0], summarised[1])
        let viewer = try practice.driver(role: .viewer, size: Size(width: 160, height: 40))
        viewer.press("2", "/")
        viewer.type(callId)
        viewer.press("enter")
        // Not in the list either (its Summary column showed it whole).
        #expect(viewer.screenText.contains(String(callId.prefix(10))) && !viewer.screenText.contains(String(summary.prefix(20))), "\(viewer.screenText)")
        #expect(viewer.screenText.contains("•••"))
        viewer.press("enter")
        #expect(viewer.screenText.contains("Call \(callId)") && viewer.screenText.contains("••• (patient details hidden)"), "\(viewer.screenText)")
        #expect(!viewer.screenText.contains(String(summary.prefix(30))))
        viewer.press("P")
        #expect(viewer.screenText.contains(String(summary.prefix(30))), "\(viewer.screenText)")
        let row = try sqlite3(practice.auditPath, "SELECT call_id || '|' || json_extract(detail, '$.screen') FROM audit_event WHERE action = 'phi.reveal'")
        #expect(row.trimmingCharacters(in: .whitespacesAndNewlines) == "\(callId)|calls")
    }

    /// Review had no `P`: a viewer could see a booking's patient nowhere but on the other
    /// screens. It reveals one booking's details, with an audit row, and only while they
    /// are open; the list stays masked.
    @Test func aViewerRevealsOneBookingsPatientOnReviewWithAnAuditRow() throws {
        let practice = try Practice()
        let viewer = try practice.driver(role: .viewer, size: Size(width: 160, height: 40))
        viewer.press("enter")
        let id = try #require(viewer.screenText.firstMatch(of: /Booking (\S+)/).map { String($0.1) })
        let booking = try sqlite3(practice.auditPath, "SELECT patient_display || '|' || call_id FROM booking WHERE booking_id = '\(id)'")
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map(String.init)
        let (patient, callId) = (booking[0], booking[1])
        #expect(!viewer.screenText.contains(patient), "\(viewer.screenText)")
        #expect(viewer.footer.contains("P show patient"), "\(viewer.footer)")
        viewer.press("P")
        #expect(viewer.screenText.contains(patient), "\(viewer.screenText)")
        #expect(viewer.messageLine.contains("the audit records that you looked"))
        let row = try sqlite3(practice.auditPath, """
            SELECT call_id || '|' || json_extract(detail, '$.screen') || '|' || json_extract(detail, '$.booking_id')
            FROM audit_event WHERE action = 'phi.reveal'
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(row == "\(callId)|review|\(id)", "\(row)")
        viewer.press("esc")
        #expect(!viewer.screenText.contains(patient), "the list stays masked")
        viewer.press("enter")
        #expect(!viewer.screenText.contains(patient), "opened again, the details are masked again: a reveal is one look")
    }

    /// A filter that matched what a row hides would tell a viewer what it says: whose
    /// booking it is, the caller's hidden digits, an EHR's answer naming the patient.
    @Test func aViewersFilterFindsOnlyWhatTheViewerIsShown() throws {
        let practice = try Practice()
        try Self.items(practice)
        _ = try sqlite3(practice.outboxPath, "UPDATE outbox_item SET last_error = 'HTTP 422: Omar Sahin already has a visit', last_http_status = 422 WHERE id = 'ob-phi-fhir'")
        let patient = try #require(try sqlite3(practice.auditPath, """
            SELECT patient_display FROM booking WHERE review_required = 1 AND patient_display LIKE '% %' ORDER BY booked_at DESC LIMIT 1
            """).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").last.map(String.init))
        // A caller whose four digits are in no call id, so only the number could match them.
        let caller = try sqlite3(practice.auditPath, """
            SELECT caller FROM call c WHERE caller IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM call d WHERE instr(d.call_id, substr(c.caller, -4))) ORDER BY started_at DESC LIMIT 1
            """).trimmingCharacters(in: .whitespacesAndNewlines)
        let digits = String(caller.suffix(4))
        #expect(digits.count == 4 && digits.allSatisfy(\.isNumber), "\(caller)")

        func found(_ driver: ProgramDriver<Console>, screen: String, _ text: String) -> String {
            driver.press("esc", screen, "/")
            driver.type(text)
            driver.press("enter")
            return driver.screenText
        }
        let viewer = try practice.driver(role: .viewer, size: Size(width: 160, height: 40))
        let reviewer = try practice.driver(role: .reviewer, size: Size(width: 160, height: 40))

        let byName = found(viewer, screen: "1", patient)
        #expect(byName.contains("No booking matches the filter."), "\(patient): \(byName)")
        #expect(!found(reviewer, screen: "1", patient).contains("No booking matches the filter."))

        let byDigits = found(viewer, screen: "2", digits)
        #expect(byDigits.contains("No call matches the filter."), "\(byDigits)")
        #expect(found(reviewer, screen: "2", digits).contains(caller))
        // What the viewer is shown, they find: the number's last two digits.
        let shown = Call.caller(caller, showingLast: 2)
        #expect(found(viewer, screen: "2", String(shown.suffix(5))).contains(shown), "\(shown): \(viewer.screenText)")

        let listed = found(viewer, screen: "4", "ob-phi-fhir")
        #expect(listed.contains("422 ••• (patient details hidden)") && !listed.contains("Sahin"), "\(listed)")
        let byError = found(viewer, screen: "4", "sahin")
        #expect(!byError.contains("422 ") && !byError.contains("Sahin"), "\(byError)")
        #expect(found(reviewer, screen: "4", "sahin").contains("422 HTTP 422: Omar Sahin already has a visit"))

        // The item's details hide the answer too, until the viewer reveals that item.
        _ = found(viewer, screen: "4", "ob-phi-fhir")
        viewer.press("enter")
        #expect(viewer.screenText.contains("Last error") && !viewer.screenText.contains("Sahin"), "\(viewer.screenText)")
        viewer.press("P")
        #expect(viewer.screenText.contains("HTTP 422: Omar Sahin already has a visit"), "\(viewer.screenText)")
    }

    @Test func callSummariesAreHiddenFromAViewer() throws {
        let viewer = OperatorIdentity(user: "v", role: .viewer), reviewer = OperatorIdentity(user: "r", role: .reviewer)
        #expect(viewer.freeText("Omar Sahin asked to move his visit") == "••• (patient details hidden)")
        #expect(reviewer.freeText("Omar Sahin asked") == "Omar Sahin asked")
        #expect(viewer.revealing.freeText("Omar") == "Omar")
        let detail = viewer.auditDetail(text: #"{"booking_id":"bk-1","note":"Omar Sahin","patient":"Patient/p-77","ref":"Patient/p-77"}"#)
        #expect(detail == #"{"booking_id":"bk-1","note":"•••","patient":"•••","ref":"Patient/•••"}"#, "\(detail ?? "")")
    }
}
