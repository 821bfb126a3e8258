import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardSim
import SwitchboardStore

extension Simulator {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a realistic audit.sqlite and outbox.sqlite, as if the agent had been taking calls.",
            discussion: """
            Every workflow and outcome, bookings inside and outside the go-live review window, outbox \
            items in every status, and a hash-chained audit log. The same seed writes the same history.
            """)

        @Option(help: ArgumentHelp("Directory to write audit.sqlite and outbox.sqlite into (created if missing).", valueName: "dir"))
        var out: String

        @Option(help: "How many calls to generate.")
        var calls: Int

        @Option(help: "Seed for the random history.")
        var seed: UInt64 = 1

        @Option(help: ArgumentHelp("Hours before now that the go-live window started.", valueName: "hours"))
        var windowStartedHoursAgo: Double = 20

        @Flag(help: "Put control characters and terminal escape sequences in some patient names.")
        var hostileData = false

        @Option(help: ArgumentHelp("Sign a checkpoint of the audit chain's head every this many rows (and at the end).", valueName: "rows"))
        var checkpointEvery: Int = 1000

        @Flag(help: "Replace databases already in the directory.")
        var force = false

        @Flag(help: "Print what was written as JSON.")
        var json = false

        func validate() throws {
            if calls < 1 { throw ValidationError("--calls must be at least 1.") }
            if checkpointEvery < 1 { throw ValidationError("--checkpoint-every must be at least 1 row.") }
            if windowStartedHoursAgo < 0 { throw ValidationError("--window-started-hours-ago cannot be negative.") }
        }

        func run() throws {
            keepPatientDataFromOthers()
            let dir = try writableDirectory(out)
            let fm = FileManager.default
            let auditPath = dir.appendingPathComponent("audit.sqlite").path
            let outboxPath = dir.appendingPathComponent("outbox.sqlite").path
            for path in [auditPath, outboxPath] where fm.fileExists(atPath: path) {
                guard force else {
                    throw fail("\(path) already exists; pass --force to replace it (its data will be lost).", status: ExitStatus.cannotCreate)
                }
                for suffix in ["", "-wal", "-shm", ".checkpoints"] { try? fm.removeItem(atPath: path + suffix) }
            }
            let now = Clock.nowMillis()
            let plan = HistoryPlan(calls: calls, seed: seed, endsAt: now,
                                   windowStart: now - Int64(windowStartedHoursAgo * 3_600_000), hostileData: hostileData)
            // A history that could not be written whole (a full disk) is not left behind
            // half-written: the files did not exist before, or --force gave them up.
            func removeHalfWritten() {
                for path in [auditPath, outboxPath] {
                    for suffix in ["", "-wal", "-shm", ".checkpoints"] { try? fm.removeItem(atPath: path + suffix) }
                }
            }
            let report: HistoryReport
            do {
                let audit = try AuditStore(path: auditPath, mode: .create)
                let outbox = try OutboxStore(path: outboxPath, mode: .create)
                report = try HistoryGenerator(plan: plan).write(audit: audit, outbox: outbox)
                // The generator is the agent here: it signs its history's heads with the agent's key.
                let signer: CheckpointSigner
                do { signer = try CheckpointSigner(audit: audit, keyDirectory: dir, everyRows: checkpointEvery) } catch let error as CheckpointKeys.Failure {
                    try? audit.close(); try? outbox.close()
                    removeHalfWritten()
                    throw fail("\(error)", status: ExitStatus.cannotCreate)
                }
                try signer.signHistory()
                try audit.close()
                try outbox.close()
            } catch let error as StoreError {
                removeHalfWritten()
                throw fail("\(error)", status: error.exitStatus)
            }
            if json {
                print(JSONText.encode(report))
            } else {
                print("""
                    wrote \(auditPath) and \(outboxPath)
                      calls \(report.calls), audit rows \(report.auditRows), bookings \(report.bookings) (\(report.bookingsInWindow) in the review window, \(report.decisions) decided), outbox items \(report.outboxItems)
                      \(String(format: "%.1f", report.seconds)) s, \(Int(Double(report.auditRows) / max(report.seconds, 0.001))) audit rows/s
                    """)
            }
        }
    }
}
