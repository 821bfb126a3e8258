import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

/// `switchboard-bench verify`: the audit chain walk against `openssl dgst -sha256` over
/// the same bytes (every row's canonical form, written to a file first), in the same run.
/// The walk also reads every row from SQLite and checks each column, so the ratio is
/// what verifying costs beside hashing alone.
struct VerifyBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "switchboard audit verify's chain walk against openssl dgst -sha256 over the same bytes.")

    @Option(help: "Directory for the benchmark databases (shared with `store`; reused when they already hold enough rows).")
    var dir = "/tmp/switchboard-bench"

    @Option(help: "Audit rows to generate (about 3.4 per call).")
    var auditRows = 1_000_000

    @Option(help: "Repetitions; the median is reported.")
    var runs = 3

    func run() throws {
        let auditPath = dir + "/audit.sqlite"
        try ensureHistory(dir: dir, auditRows: auditRows)
        let store = try AuditStore(path: auditPath, mode: .readOnly)
        let canonical = dir + "/canonical.bin"
        let (rows, bytes) = try AuditChain.writeCanonicalForms(store.database, to: canonical)
        defer { try? FileManager.default.removeItem(atPath: canonical) }

        var checked = 0
        let ours = try medianMillis(runs: runs) { checked = try store.verifyChain().checked }
        let openssl = try medianMillis(runs: runs) { try spawnAndWait("/usr/bin/openssl", ["dgst", "-sha256", canonical]) }
        let mb = Double(bytes) / 1_000_000
        let ourRate = mb / (ours / 1000), opensslRate = mb / (openssl / 1000)
        print("audit rows \(rows) (checked \(checked)), canonical bytes \(String(format: "%.1f", mb)) MB")
        print("                                   ms      MB/s   rows/s")
        print("switchboard audit verify (walk) " + format(ours).leftPad(8) + String(format: "%9.0f", ourRate)
              + String(format: "%10.0f", Double(rows) / (ours / 1000)))
        print("openssl dgst -sha256 (same bytes)" + format(openssl).leftPad(7) + String(format: "%9.0f", opensslRate))
        print(String(format: "ratio: %.2fx openssl's throughput (target at least 0.5x)", ourRate / opensslRate))
    }
}

/// A generated history of at least `auditRows` rows in `dir` (made when missing or short).
func ensureHistory(dir: String, auditRows: Int) throws {
    let auditPath = dir + "/audit.sqlite", outboxPath = dir + "/outbox.sqlite"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let existing = (try? AuditStore(path: auditPath, mode: .readOnly).summary(now: 0).auditRows) ?? 0
    guard existing < Int64(auditRows) else { return }
    for path in [auditPath, outboxPath] { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + s) } }
    let now = Clock.nowMillis()
    let calls = Int(Double(auditRows) / 3.39)
    // The whole history inside the review window: the review list is as long as it gets.
    let plan = HistoryPlan(calls: calls, seed: 1, endsAt: now, windowStart: now - max(30 * 3_600_000, Int64(calls) * 40_000))
    print("generating \(plan.calls) calls …")
    let report = try HistoryGenerator(plan: plan).write(
        audit: try AuditStore(path: auditPath, mode: .create), outbox: try OutboxStore(path: outboxPath, mode: .create))
    print(String(format: "generated %d audit rows, %d bookings, %d outbox items in %.1f s (%.0f audit rows/s)",
                 report.auditRows, report.bookings, report.outboxItems, report.seconds, Double(report.auditRows) / report.seconds))
}
