import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The go-live figures against the integration guide's targets, for the integration
/// team: EHR latency, first-attempt success, audit coverage, first-call resolution and
/// corrections, over the 48-hour window, and whether the agent may go autonomous.
/// Read-only: it has no keys of its own.
struct GoLiveScreen: ConsoleScreen {
    // MARK: Keys

    var keyMaps: [KeyMap<ConsoleAction>] = []

    // MARK: State

    let context: ConsoleContext
    private let time = TimeText()
    var notices: [(text: String, kind: Toasts.Kind)] = []
    private var tally: GoLiveTally
    private var outboxSummary: StoreSummary.OutboxPart?
    private var failure: String?
    /// Data changes count at most once a second: the agent commits many times a second,
    /// and each count reads only the new audit rows.
    private var schedule = CountSchedule(everyMillis: 1_000)
    private var counted = false
    /// Calls, bookings and outbox attempts are recounted at most this often after a
    /// change (tens of milliseconds at a million rows), and never while nothing changes.
    private var totalsCountedAt: UnixMillis?
    private var totalsStale = false
    private let totalsEveryMillis: Int64 = 10_000

    init(context: ConsoleContext) {
        self.context = context
        tally = GoLiveTally(window: context.clock.window)
    }

    var capturesKeys: Bool { false }
    var footerActions: Set<ConsoleAction>? { nil }
    var captureHints: String? { nil }
    var filterPrompt: CommandPrompt? { nil }
    var statusText: String { "" }
    var positionText: String? { nil }

    mutating func perform(_ action: ConsoleAction) -> Reaction<ConsoleMessage> { .none }
    mutating func handleCaptured(_ key: Key) -> Reaction<ConsoleMessage> { .none }
    mutating func handleScroll(_ key: Key) -> Bool { false }
    mutating func resize(bodyHeight: Int) {}

    // MARK: Data

    mutating func refresh() -> Reaction<ConsoleMessage> {
        schedule.start(force: false, now: context.now()) ? count() : .none
    }

    mutating func tick() -> Reaction<ConsoleMessage> {
        let totalsDue = totalsStale && totalsCountedAt.map { context.now() - $0 >= totalsEveryMillis } ?? false
        return schedule.due || totalsDue ? refresh() : .none
    }

    /// Counts in the background from where the last count stopped.
    private mutating func count() -> Reaction<ConsoleMessage> {
        let start = tally, now = context.now()
        let totals = totalsCountedAt.map { now - $0 >= totalsEveryMillis } ?? true
        if totals { totalsCountedAt = now }
        totalsStale = !totals
        let audit = context.audit, outbox = context.actions.outbox
        return .run {
            do {
                var tally = start
                try tally.advance(audit: audit, outbox: outbox, totals: totals)
                return .goLive(.counted(.success(.init(tally: tally, outbox: try outbox?.summary()))))
            } catch {
                return .goLive(.counted(.failure(GoLiveMessage.Failure(text: "\(error)"))))
            }
        }
    }

    mutating func update(_ message: GoLiveMessage) -> Reaction<ConsoleMessage> {
        switch message {
        case .counted(let result):
            counted = true
            let again = schedule.finished(now: context.now())
            switch result {
            case .success(let counted):
                tally = counted.tally
                outboxSummary = counted.outbox
                failure = nil
            case .failure(let problem):
                failure = problem.text
            }
            // Data changed while counting: count the new rows too (at most once a second).
            return again ? Reaction.redraw.and(refresh()) : .redraw
        }
    }

    // MARK: Figures

    /// One target: the figure now, the goal, whether it is met (nil: no data yet), and
    /// what it was counted from.
    struct Figure {
        var label: String
        var value: String
        var goal: String
        var met: Bool?
        var basis: String
    }

    var figures: [Figure] {
        let t = tally
        func percent(_ rate: Double?, digits: Int) -> String { rate.map { String(format: "%.\(digits)f %%", $0 * 100) } ?? "—" }
        return [
            Figure(label: "EHR latency (average)", value: t.averageLatencyMillis.map { "\(Int($0.rounded())) ms" } ?? "—",
                   goal: "< \(Int(GoLiveTargets.ehrLatencyMillis)) ms", met: t.averageLatencyMillis.map { $0 < GoLiveTargets.ehrLatencyMillis },
                   basis: t.latencyCount == 0 ? "no EHR requests yet"
                       : "p95 \(t.p95LatencyMillis.map { $0 >= 5_000 ? "≥ 5000" : String($0) } ?? "—") ms over \(grouped(t.latencyCount)) requests"),
            Figure(label: "First-attempt success", value: percent(t.firstAttemptSuccessRate, digits: 2),
                   goal: "≥ \(percentText(GoLiveTargets.firstAttemptSuccess))",
                   met: t.firstAttemptSuccessRate.map { $0 >= GoLiveTargets.firstAttemptSuccess },
                   basis: "\(grouped(t.firstAttemptSuccesses)) of \(grouped(t.firstAttempts)) first tries answered"),
            Figure(label: "Audit coverage", value: percent(t.auditCoverage, digits: 2), goal: "100 %",
                   met: t.auditCoverage.map { $0 >= GoLiveTargets.auditCoverage },
                   basis: t.outboxAttempts.map { "\(grouped(min(t.auditedSends, $0))) of \(grouped($0)) outbox sends have their audit row" }
                       ?? "no outbox database: sends cannot be matched"),
            Figure(label: "First-call resolution", value: percent(t.firstCallResolution, digits: 1),
                   goal: "≥ \(percentText(GoLiveTargets.firstCallResolution))",
                   met: t.firstCallResolution.map { $0 >= GoLiveTargets.firstCallResolution },
                   basis: "\(grouped(t.callsResolvedFirstTime)) of \(grouped(t.callsEnded)) ended calls"),
            Figure(label: "Bookings corrected", value: percent(t.correctionRate, digits: 1),
                   goal: "< \(percentText(GoLiveTargets.correctionRate))", met: t.correctionRate.map { $0 < GoLiveTargets.correctionRate },
                   basis: "\(grouped(t.bookingsCorrected)) of \(grouped(t.bookingsDecided)) decided; \(grouped(t.bookingsFlagged - t.bookingsDecided)) to review"),
        ]
    }

    /// Whether the agent may go autonomous: every target met, and every flagged booking decided.
    var verdict: (text: String, scope: String) {
        let all = figures
        if failure != nil { return ("Figures unavailable", "status.error") }
        if !counted { return ("Counting…", "header") }
        let missed = all.filter { $0.met == false }.map { $0.label.lowercased() }
        if !missed.isEmpty { return ("Not yet: \(missed.joined(separator: ", ")) off target", "status.error") }
        if all.contains(where: { $0.met == nil }) { return ("Not enough data yet", "status.warn") }
        let undecided = tally.bookingsFlagged - tally.bookingsDecided
        if undecided > 0 { return ("On target; \(grouped(undecided)) bookings still to review", "status.warn") }
        return ("All targets met: ready to go autonomous", "status.ok")
    }

    // MARK: Rendering

    func headerParts(now: UnixMillis) -> [(text: String, scope: String)] {
        let window = context.clock.window
        let clock = window.isOver(at: now) ? ("go-live window closed", "header.warning")
            : ("window \(formatDuration(millis: window.remaining(at: now))) left", "header.clock")
        return [clock, verdict]
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        let area = rect.inset(dx: 1, dy: 1)
        var y = 0
        func line(_ text: String, _ scope: String = "base") {
            guard y < area.height else { return }
            grid.write(text, in: area.row(y), style: theme.style(scope))
            y += 1
        }
        let window = context.clock.window, now = context.now()
        line("Go-live window  \(time.timestamp(window.startsAt)) → \(time.timestamp(window.endsAt))"
             + (window.isOver(at: now) ? "  (closed)" : "  (\(formatDuration(millis: window.remaining(at: now))) left)"), "header.title")
        if let failure { line("Cannot count the figures: \(failure)", "status.error") }
        y += 1

        let labelWidth = 24, valueWidth = 11, goalWidth = 11
        func cells(_ label: String, _ value: String, _ goal: String, _ mark: String, _ basis: String, scope: String, markScope: String) {
            guard y < area.height else { return }
            var x = area.x
            x += grid.write(label, x: x, y: area.y + y, style: theme.style(scope), maxWidth: labelWidth)
            x = area.x + labelWidth + 1
            grid.write(value, in: Rect(x: x, y: area.y + y, width: valueWidth, height: 1), style: theme.style(scope), alignment: .right)
            x += valueWidth + 2
            grid.write(goal, x: x, y: area.y + y, style: theme.style(scope), maxWidth: goalWidth)
            x += goalWidth + 1
            x += grid.write(mark, x: x, y: area.y + y, style: theme.style(markScope), maxWidth: 3)
            x = area.x + labelWidth + valueWidth + goalWidth + 8
            grid.write(basis, x: x, y: area.y + y, style: theme.style("table.row.dim"), maxWidth: max(0, area.x + area.width - x))
            y += 1
        }
        cells("Target", "Now", "Goal", "", "Counted from", scope: "table.header", markScope: "table.header")
        for f in figures {
            let (mark, scope) = f.met.map { $0 ? ("✓", "status.ok") : ("✗", "status.error") } ?? ("·", "table.row.dim")
            cells(f.label, f.value, f.goal, mark, f.basis, scope: f.met == false ? "status.error" : "base", markScope: scope)
        }
        y += 1
        line(verdict.text, verdict.scope)
        y += 1
        if let o = outboxSummary {
            let by = o.itemsByStatus
            let stuck = (by["failed"] ?? 0) + (by["dead"] ?? 0)
            var text = "Outbox  \(grouped(stuck)) stuck (failed or dead) · \(grouped(by["pending"] ?? 0)) pending · \(grouped(by["in_flight"] ?? 0)) in flight"
            if let oldest = o.oldestWaitingCreatedAt { text += " · oldest waiting \(formatDuration(millis: now - oldest))" }
            line(text, stuck > 0 ? "status.warn" : "base")
        }
        line("EHR requests in the window: \(grouped(tally.ehrRequests)) · audit rows read through seq \(tally.scannedThrough.map(grouped) ?? "—")",
             "table.row.dim")
    }
}

/// Results of the Go-live screen's background counts.
public enum GoLiveMessage: Sendable {
    public struct Counted: Sendable {
        var tally: GoLiveTally
        var outbox: StoreSummary.OutboxPart?
    }

    /// A database could not be read, in words for the screen.
    public struct Failure: Error, Sendable {
        var text: String
    }

    case counted(Result<Counted, Failure>)
}

/// `12,345`
func grouped(_ n: some BinaryInteger) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
        out.append(digit)
    }
    return (n < 0 ? "-" : "") + out
}

/// `99.7 %`, `2 %`: a target as the guide writes it.
private func percentText(_ rate: Double) -> String {
    let value = rate * 100
    return value == value.rounded() ? "\(Int(value)) %" : String(format: "%.1f %%", value)
}
