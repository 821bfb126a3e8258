import Foundation
import SwitchboardTesting
import Testing

/// Every text that leaves the program is clean, and the EHR's answers are checked before
/// they are printed, stored or trusted with a token: the real `switchboard review`
/// commands against generated databases and loopback EHRs.
@Suite(.timeLimit(.minutes(3)))
struct HeadlessOutputTests {
    /// `run` waits by polling on its thread; off the concurrency pool, so the loopback
    /// EHR (served on that pool) can answer the command meanwhile.
    static func runBeside(_ arguments: [String], _ scratch: Scratch) async throws -> ProcessResult {
        let environment = E2E.environment(scratch)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try run(executable("switchboard"), arguments, environment: environment) })
            }
        }
    }

    /// Terminal controls a hostile name can carry: ESC (CSI), BEL, C1 CSI, right-to-left
    /// override, pop directional isolate, line and paragraph separators.
    static let hostile = "Ann" + "\u{1b}[2J" + "\u{07}" + "\u{9b}" + "31m" + "\u{202E}" + "eil" + "\u{2069}" + "\u{2028}" + "\u{2029}" + "Lee"
    static let forbidden: Set<UInt32> = [0x1B, 0x07, 0x9B, 0x202E, 0x2069, 0x2028, 0x2029]

    static func raw(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value).filter { forbidden.contains($0) } }

    static func sqlText(_ text: String) -> String {
        "(" + text.unicodeScalars.map { "char(\($0.value))" }.joined(separator: " || ") + ")"
    }

    @Test func reviewListTextAndJSONCarryNoRawControls() throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 200)
        let id = try E2E.value(db.audit, "SELECT booking_id FROM booking WHERE review_required = 1 ORDER BY booked_at LIMIT 1")
        _ = try sqlite3(db.audit, """
            UPDATE booking SET patient_display = \(Self.sqlText(Self.hostile)), appointment_type = \(Self.sqlText(Self.hostile))
            WHERE booking_id = '\(id)'
            """)
        let paths = ["--audit", db.audit, "--outbox", db.outbox, "--limit", "500"]
        let text = try run(executable("switchboard"), ["review", "list"] + paths, environment: E2E.environment(scratch))
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("Ann") && Self.raw(text.stdout + text.stderr).isEmpty, "\(Self.raw(text.stdout))")

        let json = try run(executable("switchboard"), ["review", "list", "--json"] + paths, environment: E2E.environment(scratch))
        #expect(json.status == 0, "\(json.stderr)")
        #expect(Self.raw(json.stdout).isEmpty, "raw in JSON: \(Self.raw(json.stdout))")
        for escape in ["\\u001b", "\\u0007", "\\u009b", "\\u202e", "\\u2069", "\\u2028", "\\u2029"] {
            #expect(json.stdout.contains(escape), "\(escape)")
        }
        // Escaped, not lost: a JSON reader gets the name back as stored.
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.first { $0["booking_id"] as? String == id }?["patient"] as? String == Self.hostile)
    }

    /// A booking corrected by `review correct` whose correction the EHR refused (412).
    static func refusedCorrection(_ scratch: Scratch) throws -> (db: (audit: String, outbox: String), id: String, appointment: String) {
        let db = try E2E.generate(scratch, calls: 300)
        let id = try E2E.value(db.audit, """
            SELECT booking_id FROM booking WHERE kind = 'book' AND decided = 0 AND review_required = 1
            AND appointment_version IS NOT NULL ORDER BY booked_at DESC LIMIT 1
            """)
        let corrected = try run(executable("switchboard"), ["review", "correct", id, "--category", "wrong_type", "--type", "WALKIN",
                                                            "--audit", db.audit, "--outbox", db.outbox], environment: E2E.environment(scratch))
        try #require(corrected.status == 0, "\(corrected.stderr)")
        _ = try sqlite3(db.outbox, "UPDATE outbox_item SET status = 'dead', last_http_status = 412 WHERE booking_id = '\(id)' AND idempotency_key LIKE 'correction:%'")
        let ref = try E2E.value(db.audit, "SELECT appointment_ref FROM booking WHERE booking_id = '\(id)'")
        return (db, id, String(ref.dropFirst("Appointment/".count)))
    }

    static func appointment(_ id: String, version: String) -> String {
        let escaped = version.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : String(format: "\\u%04x", $0.value) }.joined()
        return """
            {"resourceType":"Appointment","id":"\(id)","meta":{"versionId":"\(escaped)"},"status":"booked",
             "start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:20:00Z",
             "participant":[{"actor":{"reference":"Practitioner/dr-okafor"},"status":"accepted"}]}
            """
    }

    @Test func anEHRVersionWithControlBytesIsRefusedNotPrintedOrStored() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let (db, id, appointment) = try Self.refusedCorrection(scratch)
        let ehr = try await LoopbackPeer.start()
        defer { Task { await ehr.stop() } }
        await ehr.route("GET /fhir/Appointment/*") { _ in
            .text(200, Self.appointment(appointment, version: "7\u{1b}]0;owned\u{07}\u{9b}"), ["Content-Type": "application/fhir+json"])
        }
        let again = try await Self.runBeside(["review", "again", id, "--keep-ehr", "--ehr", ehr.baseURL + "/fhir",
                                              "--audit", db.audit, "--outbox", db.outbox], scratch)
        #expect(again.status == 69, "\(again.status) \(again.stdout) \(again.stderr)")
        #expect(again.stderr.contains("no usable version"), "\(again.stderr)")
        #expect(Self.raw(again.stdout + again.stderr).isEmpty)
        #expect(try E2E.value(db.audit, "SELECT count(*) FROM audit_event WHERE action = 'review.accept_ehr'") == "0", "nothing recorded")
        #expect(try E2E.value(db.audit, "SELECT count(*) FROM audit_event WHERE instr(detail, char(27)) OR instr(detail, 'owned')") == "0")
    }

    @Test func reviewAgainSendsTheTokenOnlyToTheConfiguredEHR() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let (db, id, appointment) = try Self.refusedCorrection(scratch)
        let configured = try await LoopbackPeer.start(), other = try await LoopbackPeer.start()
        defer { Task { await configured.stop(); await other.stop() } }
        let authorizations = Shared<[String]>([])
        await configured.route("POST /token") { _ in
            .text(200, #"{"access_token":"minted-for-configured","token_type":"Bearer","expires_in":300}"#)
        }
        for peer in [configured, other] {
            await peer.route("GET /fhir/Appointment/*") { request in
                authorizations.update { $0.append("\(peer.port) \(request.header("Authorization") ?? "none")") }
                return .text(200, Self.appointment(appointment, version: "8"), ["Content-Type": "application/fhir+json"])
            }
        }
        let secret = scratch.path("ehr.secret")
        try "s3cr3t".write(toFile: secret, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        let config = scratch.path("switchboard.toml")
        try """
            [ehr]
            base_url = "\(configured.baseURL)/fhir"
            token_url = "\(configured.baseURL)/token"
            client_id = "switchboard"
            secret_file = "\(secret)"
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let site = ["--config", config, "--audit", db.audit, "--outbox", db.outbox]

        let elsewhere = try await Self.runBeside(["review", "again", id, "--ehr", other.baseURL + "/fhir"] + site, scratch)
        #expect(elsewhere.status == 69 && elsewhere.stderr.contains("not for"), "\(elsewhere.status) \(elsewhere.stderr)")
        #expect(authorizations.current.isEmpty, "nothing was sent anywhere: \(authorizations.current)")

        let home = try await Self.runBeside(["review", "again", id] + site, scratch)
        #expect(home.status == 0, "\(home.stderr)")
        #expect(authorizations.current == ["\(configured.port) Bearer minted-for-configured"])
    }
}
