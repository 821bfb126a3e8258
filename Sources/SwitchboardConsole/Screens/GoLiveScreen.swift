import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The go-live figures against the integration guide's targets, for the integration
/// team: EHR latency, first-attempt success, audit coverage, first-call resolution and
/// corrections, over the 48-hour window, and whether the agent may go autonomous.
/// Read-only: its keys scroll the page (longer than 80x24), choose an audit-coverage gap
/// and open that gap's call in place.
struct GoLiveScreen: ConsoleScreen {
    // MARK: Keys

    var keyMaps: [KeyMap<ConsoleAction>] = [KeyMap(title: "Go-live", bindings: ConsoleKeys.list(selects: false, help: [
        .down: "Next audit-coverage gap (scrolls down when there is none)", .up: "Previous audit-coverage gap (scrolls up when there is none)",
        .pageDown: "Scroll the figures a page down", .pageUp: "Scroll the figures a page up",
        .first: "Top of the figures", .last: "End of the figures: the audit-coverage gaps",
        .open: "Open the call of the chosen audit-coverage gap: every step from the audit",
        .back: "Close the call",
    ]).filter { [.down, .up, .pageDown, .pageUp, .first, .last, .open, .back].contains($0.action) })]

    // MARK: State

    let context: ConsoleContext
    private let time = TimeText()
    private var tally: GoLiveTally
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

    /// The audit-coverage gap Enter opens, and the call opened from one.
    private(set) var selectedGap = 0
    private var call: (pane: DetailPane, callId: String)?

    var capturesKeys: Bool { false }
    var footerActions: Set<ConsoleAction>? {
        if call != nil { return [.back] }
        return figures?.coverageGaps.isEmpty == false ? [.open] : []
    }
    var captureHints: String? { nil }
    var filterPrompt: CommandPrompt? { nil }
    var statusText: String { "" }
    /// `lines 1–20 of 41` when the page is longer than the screen.
    var positionText: String? {
        guard call == nil, pageLength > visibleLines else { return nil }
        let top = min(scroll, pageLength - visibleLines)
        return "lines \(top + 1)–\(top + visibleLines) of \(pageLength)"
    }

    mutating func perform(_ action: ConsoleAction, now: UnixMillis) -> ScreenStep {
        let gaps = figures?.coverageGaps ?? []
        let end = max(0, pageLength - visibleLines)
        scroll = min(scroll, end)
        switch action {
        case .down where call == nil && gaps.isEmpty: scroll = min(scroll + 1, end)
        case .up where call == nil && gaps.isEmpty: scroll = max(0, scroll - 1)
        case .down where call == nil, .up where call == nil:
            selectedGap = action == .down ? min(selectedGap + 1, gaps.count - 1) : max(0, selectedGap - 1)
            // The chosen gap stays in view.
            if let row = page(now: now).firstIndex(where: { $0.scope == GoLivePresentation.selectedGapScope }) {
                scroll = min(max(scroll, row - visibleLines + 1), row)
            }
        case .pageDown where call == nil: scroll = min(scroll + max(1, visibleLines - 1), end)
        case .pageUp where call == nil: scroll = max(0, scroll - max(1, visibleLines - 1))
        case .first where call == nil: scroll = 0
        case .last where call == nil: scroll = end
        case .back: call = nil
        case .open where call == nil:
            guard gaps.indices.contains(selectedGap) else { return .info("No audit-coverage gap to open.") }
            let gap = gaps[selectedGap]
            guard let callId = gap.callId else { return .info("Outbox item \(gap.itemId) try \(gap.attempt) belongs to no call.") }
            call = (DetailPane(items: [.heading("Call \(callId)"), .text("Reading…")]), callId)
            return .work(.goLive(.readCall(callId)))
        default: break
        }
        return .none
    }

    mutating func handleCaptured(_ key: Key, now: UnixMillis) -> ScreenStep { .none }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard var open = call, key != .escape, key != .enter else { return false }
        let handled = open.pane.handle(key)
        call = open
        return handled
    }

    mutating func resize(body: Size) {
        self.body = body
        measurePage()
    }

    /// The body's size, and how far down the page it shows.
    private var body = Size(width: 80, height: 20)
    private var scroll = 0
    /// The page's length, measured when what it shows or its width changes (not per frame:
    /// the status line and the keys need it, and a page is every figure laid out).
    private var pageLength = 1
    private mutating func measurePage() { pageLength = page(now: context.now()).count }
    /// The page's lines that fit (a blank column and row around them).
    private var visibleLines: Int { max(1, body.height - 2) }

    // MARK: Data

    mutating func refresh(now: UnixMillis) -> ScreenStep {
        schedule.start(force: false, now: now) ? count(now: now) : .none
    }

    mutating func tick(now: UnixMillis) -> ScreenStep {
        let totalsDue = totalsStale && totalsCountedAt.map { now - $0 >= totalsEveryMillis } ?? false
        return schedule.due || totalsDue ? refresh(now: now) : .none
    }

    var tickDue: UnixMillis? {
        let totals = totalsStale ? totalsCountedAt.map { $0.addingClamped(totalsEveryMillis) } : nil
        return [schedule.dueAt, totals].compactMap { $0 }.min()
    }

    /// Counts in the background from where the last count stopped.
    private mutating func count(now: UnixMillis) -> ScreenStep {
        let totals = totalsCountedAt.map { now - $0 >= totalsEveryMillis } ?? true
        if totals { totalsCountedAt = now }
        totalsStale = !totals
        return .work(.goLive(.count(tally, totals: totals, now: now)))
    }

    mutating func update(_ message: GoLiveMessage, now: UnixMillis) -> ScreenStep {
        switch message {
        case .counted(let result):
            counted = true
            let again = schedule.finished(now: now)
            switch result {
            case .success(let counted):
                tally = counted.tally
                figures = counted.figures
                failure = nil
            case .failure(let problem):
                failure = problem.text
            }
            selectedGap = min(selectedGap, max(0, (figures?.coverageGaps.count ?? 0) - 1))
            measurePage()
            // Data changed while counting: count the new rows too (at most once a second).
            return again ? refresh(now: now) : .none
        case .call(let callId, let result):
            guard var open = call, open.callId == callId else { return .none }
            switch result {
            case .success(let record):
                open.pane.replaceItems(with: CallDetails.items(record, identity: context.identity, now: now, time: time, withBookings: true))
            case .failure(let problem):
                open.pane.replaceItems(with: [.heading("Call \(callId)"), .text("Cannot read the call: \(problem.text)")])
            }
            call = open
            return .none
        }
    }

    // MARK: Figures

    /// The figures as of the last count (docs/go-live.md): computed in the background
    /// from the tally, so rendering only reads them.
    var figures: GoLiveFigures?

    /// The verdict's headline for the header.
    var verdict: (text: String, scope: String) {
        if failure != nil { return ("Figures unavailable", "status.error") }
        guard counted, let figures else { return ("Counting…", "header") }
        let v = figures.verdict
        return v.ready ? ("Ready to go autonomous", "status.ok") : ("Not ready: \(v.missing.count) missing", "status.warn")
    }

    // MARK: Rendering

    func headerParts(now: UnixMillis) -> [HeaderPart] {
        let window = context.clock.window
        let clock = window.isOver(at: now) ? HeaderPart("go-live window closed", scope: "header.warning", priority: 2)
            : HeaderPart("window \(formatDuration(millis: window.remainingShown(at: now))) left", scope: "header.clock", priority: 2)
        return [clock, HeaderPart(verdict.text, scope: verdict.scope, priority: 1)]
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme, now: UnixMillis) {
        if var pane = call?.pane {
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
            return
        }
        let area = rect.inset(dx: 1, dy: 1)
        let lines = page(now: now)
        let top = max(0, min(scroll, lines.count - area.height))
        for (y, line) in lines.dropFirst(top).prefix(max(0, area.height)).enumerated() {
            grid.write(line.text, in: area.row(y), style: theme.style(line.scope))
        }
    }

    /// Every line of the page, top to bottom, for the body's width.
    private func page(now: UnixMillis) -> [GoLivePresentation.Line] {
        let window = context.clock.window
        var lines = [GoLivePresentation.Line(
            text: "Go-live window  \(time.timestamp(window.startsAt)) → \(time.timestamp(window.endsAt))"
                + (window.isOver(at: now) ? "  (closed)" : "  (\(formatDuration(millis: window.remainingShown(at: now))) left)"),
            scope: "header.title")]
        if let failure { lines.append(.init(text: "Cannot count the figures: \(failure)", scope: "status.error")) }
        guard let f = figures else { return lines + [.init(text: counted ? "" : "Counting…", scope: "table.row.dim")] }
        return lines + GoLivePresentation.lines(f, width: max(0, body.width - 2), time: time, selectedGap: selectedGap)
    }
}

/// What the Go-live screen asks the operations runner to do.
enum GoLiveWork: Sendable {
    /// Counts the audit rows after those `tally` has seen; `totals` recounts calls,
    /// bookings and outbox attempts too.
    case count(GoLiveTally, totals: Bool, now: UnixMillis)
    /// Reads the call of an audit-coverage gap: its row, steps and bookings.
    case readCall(String)
}

extension OperationsRunner {
    func perform(_ work: GoLiveWork) async -> ConsoleMessage? {
        switch work {
        case .count(let start, let totals, let now):
            do {
                var tally = start
                try tally.advance(audit: audit, outbox: outbox, now: now, totals: totals)
                return .goLive(.counted(.success(.init(tally: tally, figures: tally.figures(now: now)))))
            } catch {
                return .goLive(.counted(.failure(GoLiveMessage.Failure(text: "\(error)"))))
            }
        case .readCall(let callId):
            do {
                return .goLive(.call(callId, .success(try CallRecord.read(audit, callId: callId))))
            } catch {
                return .goLive(.call(callId, .failure(GoLiveMessage.Failure(text: "\(error)"))))
            }
        }
    }
}

/// Results of the Go-live screen's background counts.
enum GoLiveMessage: Sendable {
    struct Counted: Sendable {
        var tally: GoLiveTally
        var figures: GoLiveFigures
    }

    /// A database could not be read, in words for the screen.
    struct Failure: Error, Sendable {
        var text: String
    }

    case counted(Result<Counted, Failure>)
    case call(String, Result<CallRecord, Failure>)
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
