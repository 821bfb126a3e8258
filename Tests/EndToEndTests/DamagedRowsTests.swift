import Foundation
import SwitchboardTesting
import Testing

/// One malformed row must not stop anything: each bad value is written into a real file
/// with `sqlite3`, then the real `switchboard status`, `review list` (text and JSON) and
/// the console run on it. No trap (exit 132), the other rows are shown, and the bad row is
/// named by table, key and column, never by its content.
@Suite(.timeLimit(.minutes(3)))
struct DamagedRowsTests {
    struct Damage: Sendable, CustomStringConvertible {
        var description: String
        var file: String
        /// `%@` is the damaged booking's id (the oldest undecided flagged booking).
        var sql: String
        /// What `review list` names on stderr, when the damage is in a row it lists.
        var named: [String]
    }

    /// Patient names written where a number belongs: if one shows, content leaked.
    static let secret = "Zelda Quixote-Secret"

    static let damages: [Damage] = [
        Damage(description: "start_at is text", file: "audit", sql: "UPDATE booking SET start_at = 'abc' WHERE booking_id = '%@'",
               named: ["booking_id %@", "start_at is text"]),
        Damage(description: "a BLOB patient name", file: "audit",
               sql: "UPDATE booking SET patient_display = CAST('\(secret)' AS BLOB) WHERE booking_id = '%@'",
               named: ["booking_id %@", "patient_display is a BLOB"]),
        Damage(description: "booked_at is -2^63", file: "audit",
               sql: "UPDATE booking SET booked_at = -9223372036854775808 WHERE booking_id = '%@'",
               named: ["booking_id %@", "booked_at is a time out of range"]),
        Damage(description: "end_at holds a name", file: "audit",
               sql: "UPDATE booking SET end_at = '\(secret)' WHERE booking_id = '%@'", named: ["booking_id %@", "end_at is text"]),
        Damage(description: "decided_at is -2^63", file: "audit",
               sql: "UPDATE review_decision SET decided_at = -9223372036854775808 WHERE rowid = (SELECT min(rowid) FROM review_decision)",
               named: ["review_decision", "decided_at is a time out of range"]),
        Damage(description: "two latencies of 9e18", file: "audit", sql: """
               PRAGMA ignore_check_constraints = 1; DROP TRIGGER IF EXISTS audit_event_is_append_only_update;
               UPDATE audit_event SET latency_ms = 9e18 WHERE seq IN (SELECT seq FROM audit_event WHERE transport IS NOT NULL ORDER BY seq DESC LIMIT 2)
               """, named: []),
        Damage(description: "audit at is text", file: "audit", sql: """
               DROP TRIGGER IF EXISTS audit_event_is_append_only_update; UPDATE audit_event SET at = 'abc' WHERE seq = (SELECT max(seq) FROM audit_event)
               """, named: []),
        Damage(description: "call started_at is text", file: "audit",
               sql: "UPDATE call SET started_at = 'zzz' WHERE rowid = (SELECT max(rowid) FROM call)", named: []),
        Damage(description: "outbox created_at is -2^63", file: "outbox",
               sql: "UPDATE outbox_item SET created_at = -9223372036854775808 WHERE status IN ('pending', 'failed')", named: []),
        Damage(description: "outbox status unknown", file: "outbox", sql: """
               PRAGMA ignore_check_constraints = 1; UPDATE outbox_item SET status = 'weird' WHERE rowid = (SELECT min(rowid) FROM outbox_item)
               """, named: []),
        Damage(description: "outbox status is a BLOB that is not UTF-8", file: "outbox",
               sql: "PRAGMA ignore_check_constraints = 1; UPDATE outbox_item SET status = x'ff00fe' WHERE rowid = (SELECT max(rowid) FROM outbox_item)", named: []),
        Damage(description: "outbox attempt started_at is a BLOB", file: "outbox",
               sql: "UPDATE outbox_attempt SET started_at = CAST('\(secret)' AS BLOB)", named: []),
    ]

    static let oldestUndecided = "SELECT booking_id FROM booking WHERE review_required = 1 AND decided = 0 ORDER BY booked_at LIMIT 1"

    @Test(arguments: damages)
    func headlessCommandsListTheRestAndNameTheBadRow(_ damage: Damage) throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 300)
        let flagged = Int(try E2E.value(db.audit, "SELECT count(*) FROM booking WHERE review_required = 1")) ?? 0
        let id = try E2E.value(db.audit, Self.oldestUndecided)
        _ = try sqlite3(damage.file == "audit" ? db.audit : db.outbox, damage.sql.replacingOccurrences(of: "%@", with: id))
        let paths = ["--audit", db.audit, "--outbox", db.outbox]

        let status = try run(executable("switchboard"), ["status"] + paths, environment: E2E.environment(scratch))
        #expect(status.status == 0, "status: \(status.status) \(status.stderr)")
        #expect(status.stdout.contains("bookings awaiting review"))

        let list = try run(executable("switchboard"), ["review", "list", "--limit", "1000"] + paths, environment: E2E.environment(scratch))
        #expect(list.status == 0, "review list: \(list.status) \(list.stderr)")
        let listed = list.stdout.split(separator: "\n").dropFirst().count
        let unreadable = damage.named.isEmpty ? 0 : 1
        #expect(listed == flagged - unreadable, "the rest is listed")
        for word in damage.named.map({ $0.replacingOccurrences(of: "%@", with: id) }) {
            #expect(list.stderr.contains(word), "\(word) in \(list.stderr)")
        }
        #expect(!(list.stdout + list.stderr).contains(Self.secret), "the bad row's content is never shown")

        let json = try run(executable("switchboard"), ["review", "list", "--json", "--limit", "1000"] + paths, environment: E2E.environment(scratch))
        #expect(json.status == 0, "review list --json: \(json.status) \(json.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(rows?.count == flagged - unreadable)
        #expect(!(json.stdout + json.stderr).contains(Self.secret))
    }

    /// Every screen of the console on a database with all of the damage at once: each
    /// shows, the status line counts what it left out, and nothing of it reaches the pane.
    @Test func theConsoleShowsEveryScreenAndCountsTheUnreadableRows() async throws {
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let db = try E2E.generate(scratch, calls: 300)
        let id = try E2E.value(db.audit, Self.oldestUndecided)
        for damage in Self.damages {
            _ = try sqlite3(damage.file == "audit" ? db.audit : db.outbox, damage.sql.replacingOccurrences(of: "%@", with: id))
        }
        let tmux = try E2E.console(scratch, db, width: 120, height: 30)
        defer { tmux.kill() }
        try await tmux.waitFor("undecided")
        var seen = try await tmux.waitFor("unreadable")
        for (key, title) in [("2", "Calls"), ("3", "Go-live"), ("4", "Outbox"), ("5", "Audit"), ("1", "Review")] {
            try tmux.send(key)
            seen += try await tmux.waitFor("│ \(title)")
        }
        // The Outbox details list the attempts, one of which is unreadable.
        try tmux.send("4")
        try await tmux.waitFor("│ Outbox")
        try tmux.send("Enter")
        try await Task.sleep(for: .milliseconds(500))
        seen += try tmux.capture()
        #expect(try tmux.exitStatus() == nil, "the console is still running")
        #expect(seen.contains("unreadable rows left out") || seen.contains("unreadable row left out"))
        #expect(!seen.contains(Self.secret) && !seen.contains("Zelda"))
    }
}
