import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore

extension Switchboard {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "What is in the databases right now.",
            discussion: """
            Calls in progress, bookings awaiting review and decided, outbox items by status, audit rows, \
            the oldest undecided booking's age, each database's schema version, and the go-live figures \
            and verdict (docs/go-live.md; the same as the Go-live screen and `switchboard report`). \
            The go-live part reads every EHR request in the window (seconds at a million rows); the rest \
            comes from indexes. Opens the files read-only: it never changes them. Warns (stderr) when a \
            database is readable or writable by others.
            """)

        @OptionGroup var databases: DatabaseOptions

        @Flag(help: "Print stable JSON instead of text.")
        var json = false

        func run() throws {
            let now = Clock.nowMillis()
            var summary = StoreSummary(at: now)
            var figures: GoLiveFigures?
            do {
                let audit = try databases.audit.map { try AuditStore(path: $0, mode: .readOnly, busyTimeoutMillis: databases.lockWait) }
                let outbox = try databases.outbox.map { try OutboxStore(path: $0, mode: .readOnly, busyTimeoutMillis: databases.lockWait) }
                summary.audit = try audit?.summary(now: now)
                summary.outbox = try outbox?.summary()
                if let audit {
                    figures = try countGoLive(audit: audit, outbox: outbox, settings: ConsoleConfiguration(), now: now)
                }
            } catch let error as StoreError {
                throw failure(error)
            }
            // Patient data in a file others can read or change: say so on every status.
            let exposure = DatabaseExposure.warnings(paths: [databases.audit, databases.outbox].compactMap { $0 })
            for warning in exposure { complain("switchboard: warning: \(warning)") }
            guard json else {
                print(Self.text(summary) + (figures.map { "\n" + Self.text($0) } ?? ""))
                return
            }
            // The store summary's keys as they were, and the go-live figures beside them.
            var object = (try? JSONSerialization.jsonObject(with: Data(JSONText.encode(summary).utf8))) as? [String: Any] ?? [:]
            if !exposure.isEmpty { object["permission_warnings"] = exposure }
            if let figures { object["go_live"] = try? JSONSerialization.jsonObject(with: Data(GoLiveReport.json(figures).utf8)) }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }

        static func text(_ f: GoLiveFigures) -> String {
            var lines = ["go-live window \(iso8601(f.window.startsAt)) → \(iso8601(f.window.endsAt))"]
            let v = f.verdict
            lines.append("  " + (v.ready ? "ready to go autonomous" : "not ready:"))
            lines += v.missing.enumerated().map { "    \($0.offset + 1). \($0.element)" }
            for figure in f.figures(.all) {
                lines.append("  " + figure.label.padding(toLength: 36, withPad: " ", startingAt: 0)
                             + GoLiveFigures.valueText(figure).padding(toLength: 10, withPad: " ", startingAt: 0)
                             + GoLiveFigures.targetText(figure).padding(toLength: 10, withPad: " ", startingAt: 0) + GoLiveReport.statusText(figure))
            }
            return lines.joined(separator: "\n")
        }

        static func text(_ s: StoreSummary) -> String {
            var lines = ["Switchboard status at \(iso8601(s.at))"]
            func row(_ label: String, _ value: String) { lines.append("  " + label.padding(toLength: 26, withPad: " ", startingAt: 0) + value) }
            if let a = s.audit {
                lines.append("audit   \(a.path) (schema v\(a.schemaVersion))")
                row("calls in progress", grouped(a.callsInProgress))
                row("calls", grouped(a.calls))
                row("bookings awaiting review", grouped(a.bookingsAwaitingReview)
                    + (a.oldestUndecidedAgeMillis.map { "  (oldest \(formatDuration(millis: $0)) old)" } ?? ""))
                row("bookings decided", grouped(a.bookingsDecided))
                row("audit rows", grouped(Int(a.auditRows)))
            }
            if let o = s.outbox {
                lines.append("outbox  \(o.path) (schema v\(o.schemaVersion))")
                for status in OutboxStatus.allCases {
                    row(status.rawValue.replacingOccurrences(of: "_", with: " "), grouped(o.itemsByStatus[status.rawValue] ?? 0))
                }
                if let oldest = o.oldestWaitingCreatedAt {
                    row("oldest waiting", formatDuration(millis: s.at - oldest) + " old")
                }
            }
            return lines.joined(separator: "\n")
        }

        static func grouped(_ n: Int) -> String {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.locale = Locale(identifier: "en_US")
            return f.string(from: NSNumber(value: n)) ?? String(n)
        }
    }
}
