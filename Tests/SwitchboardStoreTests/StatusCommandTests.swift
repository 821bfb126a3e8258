import Foundation
import SwitchboardSim
import SwitchboardStore
import SwitchboardTesting
import Testing

@Suite struct StatusCommandTests {
    @Test func reportsWhatIsInTheDatabasesAsTextAndJSON() throws {
        // Written by another process: this one holds no connection and may read the bytes.
        let scratch = Scratch(); defer { scratch.cleanUp() }
        let generated = try run(executable("switchboard-sim"), ["generate", "--out", scratch.url.path, "--calls", "400", "--json"])
        let report = try JSONDecoder().decode(HistoryReport.self, from: Data(generated.stdout.utf8))
        let db = (auditPath: scratch.path("audit.sqlite"), outboxPath: scratch.path("outbox.sqlite"), report: report)
        let beforeAudit = fileDigest(db.auditPath)
        let text = try run(executable("switchboard"), ["status", "--audit", db.auditPath, "--outbox", db.outboxPath])
        #expect(text.status == 0)
        #expect(text.stdout.contains("audit   \(db.auditPath) (schema v2)"))
        #expect(text.stdout.contains("calls                     400"))
        #expect(text.stdout.contains("bookings awaiting review"))
        for status in ["pending", "in flight", "succeeded", "failed", "dead", "discarded"] {
            #expect(text.stdout.contains("\n  \(status) "), "missing outbox status \(status)")
        }
        // Where each figure stands, in words (it said `not_enough_evidence`, `no_data`).
        #expect(text.stdout.contains("Audit coverage") && !text.stdout.contains("_evidence") && !text.stdout.contains("no_data"), "\(text.stdout)")

        let json = try run(executable("switchboard"), ["status", "--audit", db.auditPath, "--outbox", db.outboxPath, "--json"])
        #expect(json.status == 0)
        let summary = try JSONDecoder().decode(StoreSummary.self, from: Data(json.stdout.utf8))
        let audit = try #require(summary.audit)
        #expect(audit.calls == 400)
        #expect(audit.auditRows == Int64(db.report.auditRows))
        #expect(audit.bookingsDecided == db.report.decisions)
        #expect(audit.bookingsAwaitingReview == db.report.bookingsInWindow - db.report.decisions)
        #expect(audit.schemaVersion == 2)
        #expect(summary.outbox?.itemsByStatus.values.reduce(0, +) == db.report.outboxItems)
        #expect(fileDigest(db.auditPath) == beforeAudit, "status must not change the file")
    }
}
