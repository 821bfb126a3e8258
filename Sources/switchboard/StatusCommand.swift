import ArgumentParser
import Foundation
import SwitchboardCore
import SwitchboardStore

extension Switchboard {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What is in the databases right now.",
            discussion: """
            Calls in progress, bookings awaiting review and decided, outbox items by status, audit rows, \
            the oldest undecided booking's age, and each database's schema version. Opens the files \
            read-only: it never changes them.
            """)

        @OptionGroup var databases: DatabaseOptions

        @Flag(help: "Print stable JSON instead of text.")
        var json = false

        func run() throws {
            let now = Clock.nowMillis()
            var summary = StoreSummary(at: now)
            do {
                if let path = databases.audit { summary.audit = try AuditStore(path: path, mode: .readOnly, busyTimeoutMillis: databases.lockWait).summary(now: now) }
                if let path = databases.outbox { summary.outbox = try OutboxStore(path: path, mode: .readOnly, busyTimeoutMillis: databases.lockWait).summary() }
            } catch let error as StoreError {
                throw failure(error)
            }
            print(json ? JSONText.encode(summary) : Self.text(summary))
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
