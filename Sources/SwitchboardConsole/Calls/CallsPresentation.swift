import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// Turns calls into table cells: pure, no terminal. Live calls show how long they have
/// run (ticking) and their steps so far; ended calls their duration, outcome and summary.
struct CallsPresentation {
    var identity: OperatorIdentity
    var now: UnixMillis
    let time: TimeText
    /// Audit rows per call, for the rows in view.
    var steps: [String: Int] = [:]
    /// The Started column's text (a date formatter's work, kept per start time by the screen).
    var started: ((UnixMillis) -> String)?

    init(identity: OperatorIdentity, now: UnixMillis, time: TimeText) {
        self.identity = identity
        self.now = now
        self.time = time
    }

    /// Minimum widths fit 80 columns; wider terminals give the room to intent and summary.
    static let columns: [TableColumn] = [
        TableColumn("Started", minWidth: 8),
        TableColumn("Caller", minWidth: 12),
        TableColumn("Intent", minWidth: 13, maxWidth: 20, flex: 1),
        TableColumn("Time", minWidth: 5, alignment: .right),
        TableColumn("Steps", minWidth: 5, alignment: .right),
        TableColumn("Outcome", minWidth: 11),
        TableColumn("1st", minWidth: 3),
        TableColumn("Summary", minWidth: 8, flex: 3),
    ]

    func cells(_ call: Call) -> [String] {
        let live = call.inProgress
        return [
            started?(call.startedAt) ?? time.clockWithSeconds(call.startedAt),
            identity.callerNumber(call.caller),
            Self.intent(call.intent),
            Self.elapsed(call.endedAt.map { $0 - call.startedAt } ?? ClockWatch.elapsedOnTheSecond(since: call.startedAt, now: now)),
            steps[call.callId].map(String.init) ?? "",
            live ? "● live" : call.outcome ?? "—",
            live || call.outcome == nil ? "" : FirstCallResolution.isResolved(intent: call.intent, outcome: call.outcome) ? "✓" : "✗",
            // Free text names patients and their coverage: hidden from a viewer here as in
            // the call's details.
            identity.freeText(call.summary) ?? "",
        ]
    }

    func scope(_ call: Call) -> String {
        if call.inProgress { return "table.row" }
        return call.outcome == CallOutcome.dropped.rawValue || call.outcome == CallOutcome.failed.rawValue ? "status.warn" : "table.row.dim"
    }

    /// The workflow in the front desk's words, short enough for the column.
    static func intent(_ raw: String?) -> String {
        guard let raw else { return "—" }
        switch Workflow(rawValue: raw) {
        case .newPatientBooking?: return "new patient"
        case .insuranceCheck?: return "insurance"
        case .prescriptionRefill?: return "refill"
        default: return raw.replacingOccurrences(of: "_", with: " ")
        }
    }

    /// `0:42`, `12:05`, `1:02:05`: a call's length at a glance.
    static func elapsed(_ millis: Int64) -> String {
        let s = max(0, millis / 1000)
        if s >= 3600 { return "\(s / 3600):" + two((s % 3600) / 60) + ":" + two(s % 60) }
        return "\(s / 60):" + two(s % 60)
    }

    private static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
