import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

extension Switchboard {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "Prove and export the audit trail.",
            subcommands: [Verify.self, Export.self])
    }
}

/// Which audit database, from the command line or the config file.
struct AuditFileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The agent's audit database (overrides audit in the config).", valueName: "path"))
    var audit: String?

    @Option(help: ArgumentHelp("The config file (default: $XDG_CONFIG_HOME/switchboard/config.toml).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
    var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

    func settings() throws -> ConsoleConfiguration {
        var settings = try loadSettings(config: config, reportingWarnings: true).settings
        if let audit { settings.auditPath = audit }
        return settings
    }

    /// The database, opened read-only: verifying or exporting never changes it.
    func open(_ settings: ConsoleConfiguration) throws -> AuditStore {
        guard let path = settings.auditPath else {
            throw ValidationError("Name the audit database: --audit PATH, or audit in the config file.")
        }
        return try storeCall { try AuditStore(path: path, mode: .readOnly, busyTimeoutMillis: lockWait) }
    }
}

/// Progress on stderr, only when it is a terminal (cron and pipes get none).
struct ProgressLine {
    let enabled = isatty(STDERR_FILENO) == 1
    let verb: String

    func show(_ done: Int, of total: Int64) {
        guard enabled else { return }
        let percent = total > 0 ? min(100, Int(Int64(done) * 100 / total)) : 0
        FileHandle.standardError.write(Data("\r\(verb): \(Switchboard.Status.grouped(done)) of \(Switchboard.Status.grouped(Int(total))) rows (\(percent)%)\u{1B}[K".utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

extension Switchboard.Audit {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the audit chain: every row's hash and link, and the agent's signed checkpoints.",
            discussion: """
            Exit status 0: intact. 65: broken, with the first bad row and what is wrong (an edited value, \
            a deleted, inserted or swapped row, rows deleted at the end, a re-hashed chain, a forged \
            append). Checkpoints are trusted only when signed by the agent's key (--key, or audit_key in \
            the config). The heads verified are remembered in $XDG_STATE_HOME/switchboard, so a later \
            truncation is found even if the checkpoints are deleted. Opens the database read-only; \
            meant to be run from cron.
            """)

        @OptionGroup var file: AuditFileOptions

        @Option(help: ArgumentHelp("Start at this row (the row before it supplies the link).", valueName: "seq"))
        var from: Int64 = 1

        @Option(help: ArgumentHelp("The agent's public checkpoint key (overrides audit_key in the config).", valueName: "file"))
        var key: String?

        @Option(help: ArgumentHelp("The checkpoint file (default: the database's path + .checkpoints).", valueName: "file"))
        var checkpoints: String?

        @Flag(help: "Do not remember the verified head in the state directory.")
        var noRemember = false

        @Flag(help: "Print the report as JSON.")
        var json = false

        func validate() throws {
            if from < 1 { throw ValidationError("--from must be a row number, 1 or more.") }
        }

        func run() throws {
            let settings = try file.settings()
            let keyPath = key ?? settings.auditKeyPath
            let publicKey = try keyPath.map { path in
                do { return try CheckpointKeys.publicKey(at: path) } catch let failure as CheckpointKeys.Failure {
                    complain("switchboard: \(failure)")
                    if case .unreadable = failure { throw ExitCode(ExitStatus.noInput) }
                    throw ExitCode(ExitStatus.dataError)
                }
            }
            let audit = try file.open(settings)
            let environment = ProcessInfo.processInfo.environment
            let verifier = AuditVerifier(audit: audit, fromSeq: from, key: publicKey, checkpointFile: checkpoints,
                                         seenHeads: noRemember ? nil : SeenHeads.forDatabase(audit.path, environment: environment))
            let progress = ProgressLine(verb: "verifying")
            let report = try storeCall { try verifier.run(progress: progress.show) }
            progress.clear()
            print(json ? JSONText.encode(report) : Self.text(report))
            if !report.intact { throw ExitCode(ExitStatus.dataError) }
        }

        static func text(_ r: AuditVerificationReport) -> String {
            var lines: [String] = []
            if r.intact {
                var line = "audit chain intact: \(Switchboard.Status.grouped(r.rowsChecked)) rows checked, head at row \(r.headSeq)"
                if let signed = r.signedCheckpoints { line += "; \(signed) checkpoint(s) signed by the key" } else { line += "; \(r.checkpoints) checkpoint(s)" }
                if r.anchoredThrough > 0 { line += ", anchored through row \(r.anchoredThrough)" }
                lines.append(line)
            } else {
                lines.append("audit chain BROKEN at row \(r.firstBadSeq ?? 0): \(r.problem ?? "")")
            }
            lines += r.notes.map { "  note: \($0)" }
            return lines.map { TerminalText.sanitize($0) }.joined(separator: "\n")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "Write the audit rows as FHIR R4 AuditEvents (a Bundle, or NDJSON) or as CSV.",
            discussion: """
            Streams: memory stays flat however many rows. --from and --to take a row number or an ISO 8601 \
            instant (both ends inclusive). Control and bidi characters never reach the output raw.
            """)

        @OptionGroup var file: AuditFileOptions

        @Option(help: ArgumentHelp("fhir (a Bundle of AuditEvent), ndjson (one AuditEvent per line) or csv.", valueName: "format"))
        var format: String

        @Option(help: ArgumentHelp("First row: a seq or an ISO 8601 instant.", valueName: "seq|instant"))
        var from: String?

        @Option(help: ArgumentHelp("Last row: a seq or an ISO 8601 instant.", valueName: "seq|instant"))
        var to: String?

        @Option(help: ArgumentHelp("Write here instead of stdout (created with mode 0600).", valueName: "file"))
        var out: String?

        func validate() throws {
            if AuditExport.Format(rawValue: format) == nil { throw ValidationError("--format must be fhir, ndjson or csv.") }
            for (name, value) in [("from", from), ("to", to)] where value != nil && AuditExport.Bound(value!) == nil {
                throw ValidationError("--\(name) must be a row number or an ISO 8601 instant such as 2026-11-25T08:00:00Z.")
            }
        }

        func run() throws {
            let settings = try file.settings()
            let audit = try file.open(settings)
            let export = AuditExport(format: AuditExport.Format(rawValue: format)!, from: from.flatMap(AuditExport.Bound.init),
                                     to: to.flatMap(AuditExport.Bound.init))
            let output: FileHandle
            if let out {
                output = try openOutput(out)
            } else {
                output = FileHandle.standardOutput
            }
            let progress = ProgressLine(verb: "exporting")
            do {
                let rows = try export.write(from: audit, to: output, progress: progress.show)
                progress.clear()
                if out != nil { complain("switchboard: exported \(rows) rows to \(out!)") }
            } catch let error as StoreError {
                progress.clear()
                if let out { abandonOutput(out) }
                throw failure(error)
            } catch {
                progress.clear()
                if let out {
                    abandonOutput(out)
                    complain("switchboard: " + outputFailure(out, error))
                } else {
                    complain("switchboard: cannot write the export: \(error.localizedDescription)")
                }
                throw ExitCode(ExitStatus.ioError)
            }
        }
    }
}
