import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

/// `switchboard-bench verify`: the audit chain walk against `openssl dgst -sha256` over
/// the same bytes (every row's canonical form, written to a file first), in the same run.
/// The walk also reads every row from the file (its pages, `TablePages`) and checks each
/// column, so the ratio is what verifying costs beside hashing alone.
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

    @Flag(help: "Leave out the export's memory and throughput (minutes on millions of rows).")
    var skipExport = false

    func run() throws {
        let auditPath = dir + "/audit.sqlite"
        try ensureHistory(dir: dir, auditRows: auditRows)
        let store = try AuditStore(path: auditPath, mode: .readOnly)
        let canonical = dir + "/canonical.bin"
        let (rows, bytes) = try AuditChain.writeCanonicalForms(store.database, to: canonical)
        defer { try? FileManager.default.removeItem(atPath: canonical) }

        var checked = 0
        let ours = try medianMillis(runs: runs) { checked = try store.verifyChain().checked }
        let oneCore = try medianMillis(runs: runs) { _ = try AuditChain.verify(store.database, workers: 1) }
        // The walk before the page reader: SQLite's statements hand over every row.
        let statements = try medianMillis(runs: runs) { _ = try AuditChain.verify(store.database, pages: false) }
        let openssl = try medianMillis(runs: runs) { try spawnAndWait("/usr/bin/openssl", ["dgst", "-sha256", canonical]) }
        // What reading the same columns costs SQLite alone (the sqlite3 tool, whole process).
        let lengths = ["seq", "at", "actor", "call_id", "action", "ehr_system", "transport", "method", "resource_type", "resource_id",
                       "outcome", "http_status", "latency_ms", "attempt", "detail", "prev_hash", "hash"].map { "length(\($0))" }
        let sqliteRead = try medianMillis(runs: runs) {
            try spawnAndWait("/usr/bin/sqlite3", ["-readonly", auditPath, "SELECT sum(\(lengths.joined(separator: "+"))) FROM audit_event"])
        }
        let mb = Double(bytes) / 1_000_000
        let ourRate = mb / (ours / 1000), opensslRate = mb / (openssl / 1000)
        print("audit rows \(rows) (checked \(checked)), canonical bytes \(String(format: "%.1f", mb)) MB")
        print("                                   ms      MB/s   rows/s")
        print("switchboard audit verify (walk) " + format(ours).leftPad(8) + String(format: "%9.0f", ourRate)
              + String(format: "%10.0f", Double(rows) / (ours / 1000)))
        print("  the same walk on one core      " + format(oneCore).leftPad(8) + String(format: "%9.0f", mb / (oneCore / 1000)))
        print("  through SQLite's statements    " + format(statements).leftPad(8) + String(format: "%9.0f", mb / (statements / 1000)))
        print("openssl dgst -sha256 (same bytes)" + format(openssl).leftPad(7) + String(format: "%9.0f", opensslRate))
        print("sqlite3 reading the same columns " + format(sqliteRead).leftPad(7) + String(format: "%9.0f", mb / (sqliteRead / 1000)))
        print(String(format: "ratio: %.2fx openssl's throughput (target at least 0.5x)", ourRate / opensslRate))
        record("audit verify throughput", ourRate, "MB/s", baseline: opensslRate, "openssl dgst -sha256", .ratioAtLeast, 0.5)
        record("audit verify against reading alone", ourRate, "MB/s", baseline: mb / (sqliteRead / 1000), "sqlite3 reading the same columns", .ratioAtLeast, 0.5)
        if !skipExport { try exportMemory(auditPath: auditPath, rows: rows) }
    }

    /// `switchboard audit export` streams: its peak memory (GNU time's maximum resident
    /// set) on every row is the same as on the first 10,000.
    func exportMemory(auditPath: String, rows: Int) throws {
        let switchboard = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchboard").path
        guard FileManager.default.isExecutableFile(atPath: switchboard), FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            print("export: skipped (build the switchboard product beside switchboard-bench, and install GNU time)")
            return
        }
        func peak(_ extra: [String]) throws -> (kb: Int, seconds: Double) {
            let report = FileManager.default.temporaryDirectory.appendingPathComponent("bench-export-\(getpid()).txt").path
            defer { try? FileManager.default.removeItem(atPath: report) }
            let start = DispatchTime.now().uptimeNanoseconds
            try spawnAndWait("/usr/bin/time", ["-f", "%M", "-o", report, switchboard, "audit", "export", "--audit", auditPath,
                                               "--format", "ndjson", "--out", "/dev/null"] + extra)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (Int((try String(contentsOfFile: report, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1, seconds)
        }
        let small = try peak(["--to", "10000"]), all = try peak([])
        record("audit export: peak memory, all rows", Double(all.kb) / 1024, "MB", baseline: Double(small.kb) / 1024, "10,000 rows", .ratioAtMost, 1.2)
        record("audit export throughput", Double(rows) / all.seconds, "rows/s", .atLeast, 20_000)
        print(String(format: "export ndjson: 10,000 rows peak %.1f MB; all %d rows peak %.1f MB in %.1f s (%.0f rows/s)",
                     Double(small.kb) / 1024, rows, Double(all.kb) / 1024, all.seconds, Double(rows) / all.seconds))
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
