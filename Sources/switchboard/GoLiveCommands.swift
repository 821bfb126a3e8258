import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore

/// The go-live figures of the databases as of `now`, counted the way the Go-live screen
/// counts them (one `GoLiveTally`, one `GoLiveFigures`).
func countGoLive(audit: AuditStore, outbox: OutboxStore?, settings: ConsoleConfiguration, now: UnixMillis) throws -> GoLiveFigures {
    let clock = try GoLiveClock.resolve(configuration: settings, audit: audit, now: now)
    var tally = GoLiveTally(window: clock.window)
    try tally.advance(audit: audit, outbox: outbox, now: now)
    return tally.figures(now: now)
}

/// `2026-11-29T02:00:00Z` or unix milliseconds.
func parseInstant(_ text: String, option: String) throws -> UnixMillis {
    if let millis = parseISO8601(text) { return millis }
    if let millis = Int64(text), millis > 0 { return millis }
    throw ValidationError("\(option): '\(text)' is not a time; write it as 2026-11-29T02:00:00Z")
}

extension Switchboard {
    struct Outage: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "outage",
            abstract: "Planned EHR outages: the go-live figures show each figure with and without them.",
            subcommands: [Plan.self])

        struct Plan: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "plan",
                abstract: "Mark a time range as a planned outage, with a reason (an audit row; operator role).",
                discussion: """
                The figures are then shown twice, side by side: all, and without planned outages; the \
                go-live verdict is judged on the second and names every outage it left out. An outage \
                cannot be taken back: the audit chain is append-only.
                """)

            @OptionGroup var options: ReviewOptions
            @Option(help: ArgumentHelp("When it starts (ISO 8601 UTC, e.g. 2026-11-29T02:00:00Z).", valueName: "time"))
            var from: String
            @Option(help: ArgumentHelp("When it ends.", valueName: "time"))
            var to: String
            @Option(help: ArgumentHelp("Why: an EHR upgrade, a network change …", valueName: "text"))
            var reason: String

            func run() throws {
                let start = try parseInstant(from, option: "--from"), end = try parseInstant(to, option: "--to")
                let settings = try options.settings()
                guard let auditPath = settings.auditPath else {
                    throw ValidationError("Name the audit database: --audit PATH, or audit in the config file.")
                }
                let audit = try storeCall { try AuditStore(path: auditPath, mode: .readWrite, busyTimeoutMillis: options.lockWait) }
                let me = OperatorIdentity.current(configuration: settings, environment: ProcessInfo.processInfo.environment)
                switch try storeCall({ try OutagePlanning.plan(audit: audit, operator: me, from: start, to: end, reason: reason, now: Clock.nowMillis()) }) {
                case .recorded(let outage):
                    print("planned outage \(iso8601(outage.from)) → \(iso8601(outage.to)) recorded by \(outage.plannedBy): \(outage.reason)")
                case .notAllowed(let refusal):
                    complain("switchboard: not allowed: \(refusal)")
                    throw ExitCode(ExitStatus.noPermission)
                case .invalid(let problem):
                    complain("switchboard: \(problem)")
                    throw ExitCode(ExitStatus.usage)
                }
            }
        }
    }

    struct Report: ParsableCommand {
        /// `--rehearsal FILE`, or day4-report.json beside the audit database (the simulator's
        /// directory), or none.
        func readRehearsal(auditPath: String) throws -> RehearsalReport? {
            let beside = URL(fileURLWithPath: auditPath).deletingLastPathComponent().appendingPathComponent("day4-report.json").path
            let path = rehearsal ?? beside
            guard let data = FileManager.default.contents(atPath: path) else {
                guard rehearsal != nil else { return nil }
                complain("switchboard: cannot read the rehearsal's result \(path): no such readable file")
                throw ExitCode(ExitStatus.noInput)
            }
            do { return try JSONDecoder().decode(RehearsalReport.self, from: data) } catch {
                complain("switchboard: \(path) is not a day-4 rehearsal result (switchboard-sim run --protocol day4 writes one)")
                throw ExitCode(ExitStatus.dataError)
            }
        }

        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "The go-live sign-off report: every figure with its target, interval and verdict.",
            discussion: """
            The window, the verdict and what is missing, each figure with and without planned outages, \
            trends, corrections by category, reviewers, outages and drain times, audit coverage gaps and \
            stuck outbox items. HTML is one self-contained file to forward. Opens the files read-only.
            """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case markdown, json, html }

        @OptionGroup var options: ReviewOptions
        @Option(help: "markdown, json or html.")
        var format: Format = .markdown
        @Option(help: ArgumentHelp("Write the report here instead of standard output.", valueName: "file"))
        var out: String?
        @Option(help: ArgumentHelp("The day-4 rehearsal's result to add as a section (switchboard-sim run --protocol day4 writes DIR/day4-report.json); without it, day4-report.json beside the audit database is used when there is one.", valueName: "file"))
        var rehearsal: String?

        func run() throws {
            let settings = try options.settings()
            guard let auditPath = settings.auditPath else {
                throw ValidationError("Name the audit database: --audit PATH, or audit in the config file.")
            }
            let now = Clock.nowMillis()
            let figures = try storeCall {
                let audit = try AuditStore(path: auditPath, mode: .readOnly, busyTimeoutMillis: options.lockWait)
                let outbox = try settings.outboxPath.map { try OutboxStore(path: $0, mode: .readOnly, busyTimeoutMillis: options.lockWait) }
                return try countGoLive(audit: audit, outbox: outbox, settings: settings, now: now)
            }
            let result = try readRehearsal(auditPath: auditPath)
            let text: String
            switch format {
            case .markdown: text = GoLiveReport.markdown(figures, rehearsal: result)
            case .json: text = GoLiveReport.json(figures, rehearsal: result)
            case .html: text = GoLiveReport.html(figures, rehearsal: result)
            }
            guard let out else { print(text); return }
            let handle = try openOutput(out)
            do { try handle.write(contentsOf: Data(text.utf8)) } catch {
                abandonOutput(out)
                complain("switchboard: " + outputFailure(out, error))
                throw ExitCode(ExitStatus.ioError)
            }
        }
    }
}
