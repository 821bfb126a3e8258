import Foundation
import SwitchboardCore
import SwitchboardStore

/// The 13 ways to tamper with a signed audit.sqlite, each done with the `sqlite3` tool, and
/// what `switchboard audit verify` must say about each: shared by the end-to-end test and
/// `switchboard-bench torture`, so the harness runs exactly the cases the test proves.
public enum AuditTampering: String, CaseIterable, Sendable {
    case editColumn, transportToAnotherWord, transportToUnknownWord, outcomeToAnotherCode, outcomeToUnknownCode
    case deleteFirst, deleteMiddle, deleteLast, deleteLast100, insert, forgedAppend, swapTwoRows, rehashAfterEdit

    /// Drops the guards as someone with the file would.
    public static let unguard = """
        DROP TRIGGER audit_event_is_append_only_update; DROP TRIGGER audit_event_is_append_only_delete;
        PRAGMA ignore_check_constraints = 1;
        """

    /// The row edited, deleted or inserted after (histories need more than 250 rows).
    public static let row: Int64 = 120

    /// Every column but transport and outcome (their own cases): `editColumn` is one copy each.
    public static let columnEdits = [
        "at = at + 1", "actor = actor || 'x'", "call_id = 'call-forged'", "action = 'patient.delete'",
        "ehr_system = 'elsewhere'", "method = 'DELETE'", "resource_type = 'Coverage'", "resource_id = 'Patient/p1'",
        "http_status = 599", "latency_ms = 1", "attempt = 9", "detail = '{}'",
        "prev_hash = substr(prev_hash, 2) || '0'", "hash = substr(hash, 2) || '0'"]

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Tampers with `audit` (a history whose last row is `head`, with checkpoints every 50
    /// rows); returns the first row verify must name and a phrase its message must hold
    /// ("" for any). `editColumn` applies `columnEdits[edit]`.
    public func apply(to audit: String, head: Int64, edit: Int = 0) throws -> (expected: Int64, says: String) {
        let k = Self.row
        func sql(_ text: String) throws {
            let result = try run("/usr/bin/sqlite3", [audit, text])
            guard result.status == 0, result.stderr.isEmpty else { throw Failure(description: "sqlite3: \(result.stderr)") }
        }
        func events(_ whereClause: String) throws -> [AuditEvent] {
            // A call and a member in one `try` (`try run(…).stdout`) is warned about as if
            // nothing threw, in a local function (Swift 6.3): the call on a line of its own.
            let result = try run("/usr/bin/sqlite3", ["-json", audit, "SELECT * FROM audit_event WHERE \(whereClause) ORDER BY seq"])
            let json = result.stdout
            if json.isEmpty { return [] }
            return try JSONDecoder().decode([AuditEvent].self, from: Data(json.utf8))
        }
        func one(_ whereClause: String) throws -> AuditEvent {
            let found = try events(whereClause)
            guard let event = found.first else { throw Failure(description: "no audit row where \(whereClause)") }
            return event
        }
        switch self {
        case .editColumn:
            try sql(Self.unguard + "UPDATE audit_event SET \(Self.columnEdits[edit]) WHERE seq = \(k);")
            return (k, "")
        case .transportToAnotherWord:
            try sql(Self.unguard + "UPDATE audit_event SET transport = CASE transport WHEN 'fhir' THEN 'hl7v2' ELSE 'fhir' END WHERE seq = \(k);")
            return (k, "hash does not match")
        case .transportToUnknownWord:
            try sql(Self.unguard + "UPDATE audit_event SET transport = 'smoke-signal' WHERE seq = \(k);")
            return (k, "not a known transport")
        case .outcomeToAnotherCode:
            try sql(Self.unguard + "UPDATE audit_event SET outcome = CASE outcome WHEN 0 THEN 8 ELSE 0 END WHERE seq = \(k);")
            return (k, "hash does not match")
        case .outcomeToUnknownCode:
            try sql(Self.unguard + "UPDATE audit_event SET outcome = 5 WHERE seq = \(k);")
            return (k, "not a FHIR AuditEvent outcome")
        case .deleteFirst:
            try sql(Self.unguard + "DELETE FROM audit_event WHERE seq = 1;")
            return (1, "row 1 is missing")
        case .deleteMiddle:
            try sql(Self.unguard + "DELETE FROM audit_event WHERE seq = \(k);")
            return (k, "is missing")
        case .deleteLast:
            try sql(Self.unguard + "DELETE FROM audit_event WHERE seq = \(head);")
            return (head, "missing at the end")
        case .deleteLast100:
            try sql(Self.unguard + "DELETE FROM audit_event WHERE seq > \(head - 100);")
            return (head - 99, "missing at the end")
        case .insert:
            // Rows after k move up one; the new row k+1 links to k and has a valid hash.
            let previous = try one("seq = \(k)")
            var forged = AuditEvent(seq: k + 1, at: previous.at + 1, actor: previous.actor, callId: previous.callId, action: "patient.search",
                                    ehrSystem: previous.ehrSystem, transport: .fhir, method: "GET", resourceType: "Patient",
                                    outcome: .success, httpStatus: 200, latencyMs: 50, attempt: 1, detail: "{}", prevHash: previous.hash)
            forged.hash = AuditChain.hash(forged)
            try sql(Self.unguard + """
                UPDATE audit_event SET seq = -(seq + 1) WHERE seq > \(k);
                UPDATE audit_event SET seq = -seq WHERE seq < 0;
                """ + Self.insertSQL(forged))
            return (k + 1, "inserted")
        case .forgedAppend:
            var forged = try one("seq = \(head)")
            forged.seq = head + 1
            forged.actor = "agent:sim-history"
            forged.at += 1000
            forged.prevHash = forged.hash
            forged.hash = AuditChain.hash(forged)
            try sql(Self.insertSQL(forged))
            return (head + 1, "closing checkpoint")
        case .swapTwoRows:
            try sql(Self.unguard + """
                CREATE TEMP TABLE saved AS SELECT * FROM audit_event WHERE seq IN (110, 130);
                UPDATE audit_event SET (at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id,
                    outcome, http_status, latency_ms, attempt, detail, prev_hash, hash) =
                    (SELECT at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id,
                        outcome, http_status, latency_ms, attempt, detail, prev_hash, hash FROM saved WHERE saved.seq = 240 - audit_event.seq)
                WHERE seq IN (110, 130);
                """)
            return (110, "")
        case .rehashAfterEdit:
            // Edit row k, then re-hash and re-link every row after it, as the documented
            // algorithm allows anyone to: only the signed checkpoints can tell.
            var rows = try events("seq >= \(k)")
            rows[0].latencyMs = (rows[0].latencyMs ?? 0) + 1
            var prev = try one("seq = \(k - 1)").hash
            var script = Self.unguard
            for var row in rows {
                row.prevHash = prev
                row.hash = AuditChain.hash(row)
                prev = row.hash
                script += "UPDATE audit_event SET latency_ms = \(row.latencyMs.map(String.init) ?? "NULL"), prev_hash = '\(row.prevHash)', hash = '\(row.hash)' WHERE seq = \(row.seq!);\n"
            }
            try sql(script)
            // The last checkpoint before the edit still matches (100); the next (150) does not.
            return (101, "re-hashed")
        }
    }

    /// `audit chain BROKEN at row N: …` → N.
    public static func brokenSeq(_ output: String) -> Int64? {
        guard let range = output.range(of: "BROKEN at row ") else { return nil }
        return Int64(output[range.upperBound...].prefix { $0.isNumber })
    }

    public static func quote(_ text: String?) -> String {
        text.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL"
    }

    public static func insertSQL(_ e: AuditEvent) -> String {
        """
        INSERT INTO audit_event (seq, at, actor, call_id, action, ehr_system, transport, method, resource_type, resource_id,
            outcome, http_status, latency_ms, attempt, detail, prev_hash, hash)
        VALUES (\(e.seq!), \(e.at), \(quote(e.actor)), \(quote(e.callId)), \(quote(e.action)), \(quote(e.ehrSystem)),
            \(quote(e.transport?.rawValue)), \(quote(e.method)), \(quote(e.resourceType)), \(quote(e.resourceId)), \(e.outcome.rawValue),
            \(e.httpStatus.map(String.init) ?? "NULL"), \(e.latencyMs.map(String.init) ?? "NULL"), \(e.attempt.map(String.init) ?? "NULL"),
            \(quote(e.detail)), \(quote(e.prevHash)), \(quote(e.hash)));
        """
    }
}
