import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The live Calls screen: calls in progress first, their time ticking and their steps
/// counting up, then the calls that ended, newest first; Enter tells a call step by step.
struct CallsScreen: TableScreen {
    // MARK: Keys

    /// List movement, filter, details and back; nothing here writes, and calls are not
    /// selected for bulk actions.
    static func keyMaps(identity: OperatorIdentity) -> [KeyMap<ConsoleAction>] {
        let list = ConsoleKeys.list(selects: false, help: [
            .open: "Open the call: summary, bookings, every step from the audit",
            .filter: "Filter calls by caller, intent, outcome or call id; Esc clears",
        ])
        return [KeyMap(title: "Calls", bindings: list + (identity.seesPatientDetails ? [] : [ConsoleKeys.reveal()]))]
    }

    mutating func perform(_ action: ConsoleAction, now: UnixMillis) -> ScreenStep {
        if let step = move(for: action) { return step }
        switch action {
        case .open: return openDetails(now: now)
        case .back: return backOut(now: now)
        case .filter: mode = .filtering(CommandPrompt.filter())
        case .reveal:
            guard !context.identity.seesPatientDetails, case .details(_, let id) = mode, revealed != id else { return .none }
            return .work(.calls(.reveal(callId: id)))
        default: break
        }
        return .none
    }

    // MARK: State

    enum Mode {
        case list
        case details(DetailPane, callId: String)
        case filtering(CommandPrompt)
    }

    let context: ConsoleContext
    /// Names for the providers of a call's bookings, once the EHR has told them.
    private var providers: ProviderDirectory?
    var keyMaps: [KeyMap<ConsoleAction>]
    /// The call whose patient details a viewer chose to see (cleared on leaving it).
    private(set) var revealed: String?
    var table = Table<Call, String>(columns: CallsPresentation.columns, id: \.callId)
    private(set) var filter: CallFilter
    private(set) var mode: Mode = .list
    private let time = TimeText()
    /// Started times as shown: a call's start never changes, and formatting it for every
    /// row of every frame was a visible part of a frame under load.
    private let startedText: Memo<UnixMillis, String>
    /// Audit rows per call in view, from the last read.
    private var steps: [String: Int] = [:]
    /// Today's figures, counted with a read at most every few seconds while the agent
    /// writes (the same coalescing as the Review total).
    private var figures: CallFigures?
    /// Calls in progress, from the same read as the rows (never a count behind them).
    private var inProgress: Int?
    private var counts = CountSchedule(everyMillis: 5_000)
    private var reads = ReadSchedule()
    private var readFailure: String?
    private var viewport = 20
    /// The open call's record, as last read.
    private var record: CallRecord?

    init(context: ConsoleContext) {
        self.context = context
        keyMaps = Self.keyMaps(identity: context.identity)
        filter = CallFilter(searchesCallerNumbers: context.identity.seesPatientDetails)
        table.showsPosition = false
        startedText = Memo(limit: 4_096) { [time] in time.clockWithSeconds($0) }
    }

    func pageWork(_ need: TableNeed<Call>, limit: Int) -> ConsoleWork { .calls(.page(filter, need, limit: limit)) }

    var capturesKeys: Bool {
        if case .filtering = mode { return true }
        return false
    }

    var footerActions: Set<ConsoleAction>? {
        if case .details = mode { return [.back, .reveal] }
        return nil
    }

    // MARK: Data

    /// One read: the rows around the selection (which stays where the user left it: a
    /// call that ends hands its place to the next live call), the open call, and today's
    /// figures when a count is due.
    mutating func refresh(now: UnixMillis) -> ScreenStep {
        guard reads.start() else { return .none }
        var callId: String?
        if case .details(_, let id) = mode { callId = id }
        let count = counts.start(force: figures == nil, now: now)
        // On the first row the list follows its top, as `tail -f` does: a call that starts
        // while the user looks at the newest calls is shown, not scrolled off above them.
        let followsTop = callId == nil && table.isOnFirstRow
        return .work(.calls(.snapshot(CallsRead(filter: filter, anchor: followsTop ? nil : table.anchor, chunk: table.chunk, details: callId,
                                                figuresSince: count ? time.startOfDay(now) : nil))))
    }

    /// Elapsed times tick in `render`; figures due since a busy spell are counted.
    mutating func tick(now: UnixMillis) -> ScreenStep {
        counts.due ? refresh(now: now) : .none
    }

    var tickDue: UnixMillis? { counts.dueAt }

    mutating func update(_ message: CallsMessage, now: UnixMillis) -> ScreenStep {
        switch message {
        case .snapshot(let result):
            var step = reads.finished() ? refresh(now: now) : ScreenStep()
            switch result {
            case .failure(let failure):
                readFailure = failure.text
            case .success(let snapshot):
                readFailure = nil
                if snapshot.read.figuresSince != nil { _ = counts.finished(now: now) }
                guard snapshot.read.filter == filter,
                      !table.isOutrun(by: snapshot.window, readAround: snapshot.read.anchor.map(table.id)) else { step.add(refresh(now: now)); break }
                // In the list a call that ended does not drag the selection out of the live
                // calls (under load that would leave them within seconds): its row goes to
                // the call that took its place. Open details follow the call by id.
                if case .list = mode, let selected = table.selectedRow, selected.inProgress,
                   snapshot.window.rows.first(where: { $0.callId == selected.callId })?.inProgress == false {
                    table.forgetSelection()
                }
                // Read from the top for a list on its first row: it stays on the first row.
                if case .list = mode, snapshot.read.anchor == nil, table.isOnFirstRow { table.forgetSelection() }
                table.apply(snapshot.window)
                steps = snapshot.steps
                if let counted = snapshot.figures { figures = counted }
                inProgress = snapshot.inProgress
                if case .details(var pane, let id) = mode, let record = snapshot.details, record.callId == id {
                    self.record = record
                    pane.replaceItems(with: detailItems(record, now: now))
                    mode = .details(pane, callId: id)
                }
            }
            return step
        case .page(let pageFilter, let result):
            guard pageFilter == filter else { table.readFailed(); return .none }
            switch result {
            case .success(let (page, counted)):
                table.extend(page)
                steps.merge(counted) { $1 }
            case .failure(let failure):
                table.readFailed()
                return .error("Cannot read the calls: \(failure.text)")
            }
            return .none
        case .revealed(let id, let failure):
            if let failure { return .error("Patient details not shown: the audit row could not be written (\(failure.text)).") }
            guard case .details(var pane, id) = mode, let record, record.callId == id else { return .none }
            revealed = id
            pane.replaceItems(with: detailItems(record, now: now))
            mode = .details(pane, callId: id)
            return .info("Showing call \(id)'s patient details; the audit records that you looked.")
        }
    }

    private func detailItems(_ record: CallRecord, now: UnixMillis) -> [DetailPane.Item] {
        let identity = revealed == record.callId ? context.identity.revealing : context.identity
        return CallDetails.items(record, identity: identity, now: now, time: time, withBookings: true, providers: providers)
    }

    // MARK: Handlers

    mutating func handleCaptured(_ key: Key, now: UnixMillis) -> ScreenStep {
        guard case .filtering(var prompt) = mode else { return .none }
        let step = prompt.liveFilter(key)
        mode = step.open ? .filtering(prompt) : .list
        if !step.open, step.text == nil { return applyFilter("", now: now) }
        if let text = step.text { return applyFilter(text, now: now) }
        return .none
    }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane, let callId) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane, callId: callId)
        return true
    }

    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) -> ScreenStep {
        if case .success(let directory) = result { providers = directory }
        return .none
    }

    /// The call's details follow it by id as it goes on and ends; they are read with the rows.
    private mutating func openDetails(now: UnixMillis) -> ScreenStep {
        guard let call = table.selectedRow else { return .none }
        // Its steps and bookings come with the next read, a frame later.
        revealed = nil
        mode = .details(DetailPane(items: [.heading("Call \(call.callId)"), .text("Reading…")]), callId: call.callId)
        return refresh(now: now)
    }

    private mutating func backOut(now: UnixMillis) -> ScreenStep {
        if case .details = mode {
            mode = .list
        } else if filter.text != nil {
            return applyFilter("", now: now)
        }
        return .none
    }

    private mutating func applyFilter(_ text: String, now: UnixMillis) -> ScreenStep {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != filter.text else { return .none }
        filter.text = wanted
        table = Table(columns: CallsPresentation.columns, id: \.callId)
        table.showsPosition = false
        table.viewportHeight = viewport
        return refresh(now: now)
    }

    // MARK: Rendering

    /// Calls in progress now and today's first-call resolution against its target.
    func headerParts(now: UnixMillis) -> [HeaderPart] {
        guard let figures, let inProgress else { return [HeaderPart("counting calls…")] }
        var parts = [HeaderPart("\(inProgress) in progress", scope: "header.clock", priority: 1)]
        if let rate = figures.firstCallResolution {
            let percent = Int((rate * 100).rounded(.down))
            parts.append(HeaderPart("first-call resolution today \(percent)% of \(figures.ended)",
                                    scope: rate < GoLiveTargets.firstCallResolution ? "header.warning" : "header", priority: 2))
        } else {
            parts.append(HeaderPart("no call ended today", priority: 2))
        }
        return parts
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme, now: UnixMillis) {
        if case .details(var pane, _) = mode {
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
            return
        }
        var presentation = CallsPresentation(identity: context.identity, now: now, time: time)
        presentation.steps = steps
        presentation.started = startedText.value(for:)
        renderTable(into: &grid, rect: rect, theme: theme, cells: presentation.cells, scope: presentation.scope, failure: readFailure,
                    cannotRead: "Cannot read the calls", empty: filter.text != nil ? "No call matches the filter." : "No calls yet.")
    }

    var captureHints: String? {
        if case .filtering = mode { return "type to filter (caller, intent, outcome, call id)  enter keep  esc clear" }
        return nil
    }

    var statusText: String {
        filter.text.map { "filter: \($0)   " } ?? ""
    }

    var positionText: String? { nil }

    var filterPrompt: CommandPrompt? {
        if case .filtering(let prompt) = mode { return prompt }
        return nil
    }

    mutating func resize(body: Size) {
        viewport = max(1, body.height - 1)
        table.viewportHeight = viewport
    }
}

/// Results of background work the Calls screen started.
enum CallsMessage: Sendable {
    case snapshot(Result<CallsSnapshot, WriteFailure>)
    case page(CallFilter, Result<(TablePage<Call>, [String: Int]), WriteFailure>)
    /// The reveal's audit row was written (nil) or not.
    case revealed(callId: String, WriteFailure?)
}
