import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

extension Switchboard {
    struct Handoff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "handoff",
            abstract: "The shift hand-off: decisions by operator, corrections, what is left, what is stuck, alerts.",
            discussion: """
            Built from the audit (decisions and outbox actions, whoever made them), the databases \
            as they are now (undecided bookings, failed and dead items) and the alerts `switchboard \
            check` recorded. Opens the databases read-only.
            """)

        @OptionGroup var site: SiteOptions

        @Option(help: ArgumentHelp("How far back: 8h, 12h, 90m.", valueName: "duration"))
        var since = "8h"

        @Option(help: ArgumentHelp("markdown or json.", valueName: "format"))
        var format = "markdown"

        @Option(help: ArgumentHelp("The alert state file (overrides state_file in [alerts]).", valueName: "path"))
        var stateFile: String?

        @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
        var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

        func validate() throws {
            guard parseDuration(since) != nil else { throw ValidationError("--since: write e.g. 8h, 12h or 90m.") }
            guard ["markdown", "json"].contains(format) else { throw ValidationError("--format is markdown or json.") }
        }

        func run() throws {
            let settings = try site.settings(overrides: ConfigurationOverrides(), reportingWarnings: true).settings
            guard let auditPath = settings.auditPath else {
                throw ValidationError("Name the audit database: --audit PATH, or audit in the config file.")
            }
            let now = Clock.nowMillis()
            let statePath = stateFile ?? AlertStateFile.path(for: settings, environment: ProcessInfo.processInfo.environment)
            let handoff = try storeCall {
                let audit = try AuditStore(path: auditPath, mode: .readOnly, busyTimeoutMillis: lockWait)
                let outbox = try settings.outboxPath.map { try OutboxStore(path: $0, mode: .readOnly, busyTimeoutMillis: lockWait) }
                return try ShiftHandoff.read(audit: audit, outbox: outbox, configuration: settings, alerts: AlertStateFile.read(path: statePath),
                                             since: now - (parseDuration(since) ?? 0), now: now)
            }.shown(to: OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment))
            if format == "json" {
                print(JSONText.encode(handoff))
            } else {
                print(TerminalText.sanitize(handoff.markdown(time: TimeText()), keepNewlines: true), terminator: "")
            }
        }
    }
}
