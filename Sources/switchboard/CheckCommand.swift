import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardOperations
import SwitchboardStore

extension Switchboard {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "The alert rules for Nagios, Icinga or cron: one line, perfdata, and an exit status.",
            discussion: """
            Exit status (monitoring-plugin convention): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (a \
            database could not be read). Output: one summary line, then `|` and performance data. \
            Alert hooks ([alerts] hook in the config) run here, once when an alert starts and once \
            when it clears: the state is kept in a small file (see docs/alerts.md), so running \
            check every minute does not page twice. Opens the databases read-only.
            """)

        @OptionGroup var site: SiteOptions

        @Option(help: ArgumentHelp("How long to wait for a database another process has locked.", valueName: "ms"))
        var lockWait: Int = DatabaseFile.defaultBusyTimeoutMillis

        @Option(help: ArgumentHelp("The alert state file (overrides state_file in [alerts]).", valueName: "path"))
        var stateFile: String?

        @Option(help: ArgumentHelp("How long to listen to the event stream for a sign of life.", valueName: "duration"))
        var streamWait = "3s"

        @Flag(help: "Do not run the alert hook (the state file is still kept).")
        var noHooks = false

        func validate() throws {
            guard parseDuration(streamWait) != nil else { throw ValidationError("--stream-wait: write e.g. 3s or 500ms.") }
        }

        func run() throws {
            let settings: ConsoleConfiguration
            do {
                settings = try site.settings(overrides: ConfigurationOverrides(), reportingWarnings: false).settings
            } catch {
                throw Self.unknown("cannot read the config (\(error))")
            }
            guard settings.auditPath != nil || settings.outboxPath != nil else {
                throw Self.unknown("no database named (--audit, --outbox, or the config file)")
            }
            let now = Clock.nowMillis()
            let heard = Self.listen(to: settings.events, caFile: settings.caFile, waitMillis: parseDuration(streamWait) ?? 3_000, now: now)
            let evaluation: AlertEvaluation
            let figures: AlertFigures
            let statePath = stateFile ?? AlertStateFile.path(for: settings, environment: ProcessInfo.processInfo.environment)
            do {
                let audit = try settings.auditPath.map { try AuditStore(path: $0, mode: .readOnly, busyTimeoutMillis: lockWait) }
                let outbox = try settings.outboxPath.map { try OutboxStore(path: $0, mode: .readOnly, busyTimeoutMillis: lockWait) }
                let read = try AlertFigures.read(audit: audit, outbox: outbox, configuration: settings, streamLastHeard: heard, now: now)
                // The state file remembers when the stream was last heard, so silence is measured
                // across runs, not just within this one's short listen.
                let round = try AlertRound.run(settings: settings.alerts, statePath: statePath, figures: read, heard: heard,
                                               now: now, runHooks: !noHooks)
                (figures, evaluation) = (round.figures, round.evaluation)
                if !round.hooksTimedOut.isEmpty {
                    complain("switchboard: the alert hook took longer than \(settings.alerts.hookTimeoutSeconds)s and was stopped")
                }
            } catch let error as StoreError {
                throw Self.unknown("\(error)")
            } catch let error as AlertStateError {
                throw Self.unknown("\(error)")
            }
            print(Self.report(evaluation, figures, now: now))
            switch evaluation.worst {
            case .critical?: throw ExitCode(2)
            case .warning?: throw ExitCode(1)
            case nil: return
            }
        }

        /// `SWITCHBOARD UNKNOWN - why`, exit 3.
        static func unknown(_ why: String) -> ExitCode {
            print("SWITCHBOARD UNKNOWN - \(why.replacingOccurrences(of: "|", with: "/"))")
            return ExitCode(3)
        }

        /// The plugin output: the summary line, then `|` and perfdata on the same line.
        static func report(_ evaluation: AlertEvaluation, _ f: AlertFigures, now: UnixMillis) -> String {
            let state = switch evaluation.worst { case .critical?: "CRITICAL"; case .warning?: "WARNING"; case nil: "OK" }
            var summary: String
            if evaluation.active.isEmpty {
                summary = "no alerts"
                if let review = f.review { summary += "; \(review.undecided) undecided" }
                if let outbox = f.outbox { summary += "; outbox \(outbox.countsByStatus[.pending] ?? 0) pending, \(outbox.countsByStatus[.failed] ?? 0) failed" }
            } else {
                summary = evaluation.active.map { "\($0.rule.rawValue): \($0.summary)" }.joined(separator: "; ")
            }
            // Perfdata: 'label'=value[unit];warn;crit — `|` and `=` must not appear in the text.
            var perf: [String] = []
            if let o = f.outbox {
                for status in [OutboxStatus.pending, .inFlight, .failed, .dead] { perf.append("outbox_\(status.rawValue)=\(o.countsByStatus[status] ?? 0)") }
                perf.append("oldest_pending=\(o.oldestPendingCreatedAt.map { max(0, millisBetween($0, now)) / 1000 } ?? 0)s")
            }
            if let r = f.review {
                perf.append("undecided=\(r.undecided)")
                perf.append("overdue=\(r.overdue);;1")
                if let bound = wilsonUpperBound(r.corrected, of: r.decided) { perf.append("correction_upper=\(String(format: "%.4f", bound));0.02") }
                perf.append("window_left=\(r.window.remaining(at: now) / 1000)s")
            }
            if let e = f.ehr { perf.append("ehr_queue_mode=\(e.state == .queueMode ? 1 : 0)") }
            if let heard = f.streamLastHeard { perf.append("stream_silent=\(max(0, millisBetween(heard, now)) / 1000)s") }
            perf.append("alerts=\(evaluation.active.count)")
            let line = "SWITCHBOARD \(state) - " + summary.replacingOccurrences(of: "|", with: "/").replacingOccurrences(of: "\n", with: " ")
            return line + " | " + perf.joined(separator: " ")
        }

        /// When the stream was heard now: any byte from an SSE URL within `waitMillis`, or an
        /// NDJSON file's modification time. Nil when it was not heard (or none is configured).
        static func listen(to events: String?, caFile: String?, waitMillis: Int64, now: UnixMillis) -> UnixMillis? {
            guard let events, events != "-" else { return nil }
            guard events.hasPrefix("http://") || events.hasPrefix("https://") else {
                let modified = (try? FileManager.default.attributesOfItem(atPath: events))?[.modificationDate] as? Date
                return modified.map(\.unixMillis)
            }
            let http = HTTPClient(configuration: .init(connectTimeout: .milliseconds(waitMillis), requestTimeout: .milliseconds(waitMillis),
                                                       caFile: caFile))
            let heard = try? waitFor { () async -> Bool in
                let response = http.stream(HTTPRequest("GET", events, headers: ["Accept": "text/event-stream"], timeout: .milliseconds(waitMillis)))
                do {
                    for try await part in response {
                        if case .bytes(let bytes) = part, !bytes.isEmpty { response.cancel(); return true }
                    }
                } catch {}
                return false
            }
            return heard == true ? Clock.nowMillis() : nil
        }
    }
}

/// Tells sites apart in per-site files (the alert state): the databases' paths.

