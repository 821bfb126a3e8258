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
    static func keyMaps() -> [KeyMap<ConsoleAction>] {
        let list = ConsoleKeys.list(selects: false, help: [
            .open: "Open the call: summary, bookings, every step from the audit",
            .filter: "Filter calls by caller, intent, outcome or call id; Esc clears",
        ])
        return [KeyMap(title: "Calls", bindings: list)]
    }

    mutating func perform(_ action: ConsoleAction) -> Reaction<ConsoleMessage> {
        if move(for: action) { return .redraw }
        switch action {
        case .open: openDetails()
        case .back: backOut()
        case .filter: mode = .filtering(CommandPrompt.filter())
        default: return .none
        }
        refreshSteps()
        return .redraw
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
    var keyMaps: [KeyMap<ConsoleAction>] = Self.keyMaps()
    var table: Table<CallsSource>
    private(set) var mode: Mode = .list
    var notices: [(text: String, kind: Toasts.Kind)] = []
    private let time = TimeText()
    /// Audit rows per call in view. An ended call's count no longer changes, so only
    /// live calls are counted again.
    private var steps: [String: Int] = [:]
    /// Today's figures, counted in the background: one count at a time, at most every
    /// few seconds while the agent writes (the same coalescing as the Review total).
    private var figures: CallFigures?
    private var counting = false
    private var figuresDue = false
    private var lastCountedAt: UnixMillis?
    private let recountEveryMillis: Int64 = 5_000

    init(context: ConsoleContext) {
        self.context = context
        table = Table(source: CallsSource(store: context.audit), columns: CallsPresentation.columns, cells: { _ in [] })
        table.showsPosition = false
    }

    var capturesKeys: Bool {
        if case .filtering = mode { return true }
        return false
    }

    var footerActions: Set<ConsoleAction>? {
        if case .details = mode { return [.back] }
        return nil
    }

    // MARK: Data

    /// On screen and after every data change: the rows (the selection stays on its
    /// call), the open call's steps, and the header figures in the background.
    mutating func refresh() -> Reaction<ConsoleMessage> {
        reload()
        if case .details(var pane, let callId) = mode {
            pane.items = CallDetails.items(callId: callId, context: context, time: time, withBookings: true, providers: providers)
            mode = .details(pane, callId: callId)
        }
        figuresDue = true
        return recount()
    }

    /// Elapsed times tick once a second; figures due since a busy spell are counted.
    mutating func tick() -> Reaction<ConsoleMessage> {
        present()
        return figuresDue ? recount() : .none
    }

    private mutating func reload() {
        let selected = table.selectedID
        table.reload()
        // A call that ended moved from the live section to the ended one, maybe beyond
        // the rows around the old place: go to it, wherever it is now.
        if let selected, table.selectedID != selected, let call = try? context.audit.call(id: selected),
           table.source.filter.matches(call) {
            table.reveal(call)
        }
        refreshSteps()
    }

    /// Counts steps for the rows in view that may still grow, and redraws the cells.
    private mutating func refreshSteps() {
        let wanted = table.window.filter { $0.inProgress || steps[$0.callId] == nil }.map(\.callId)
        if !wanted.isEmpty, let counted = try? context.audit.stepCounts(ofCalls: wanted) {
            steps.merge(counted) { $1 }
        }
        if steps.count > 4 * table.window.count + 200 {
            let inView = Set(table.window.map(\.callId))
            steps = steps.filter { inView.contains($0.key) }
        }
        present()
    }

    private mutating func present() {
        var presentation = CallsPresentation(identity: context.identity, now: context.now(), time: time)
        presentation.steps = steps
        table.cells = { presentation.cells($0) }
        table.rowScope = { presentation.scope($0) }
    }

    private mutating func recount() -> Reaction<ConsoleMessage> {
        let now = context.now()
        if counting { return .none }
        if let last = lastCountedAt, now - last < recountEveryMillis { return .none }
        figuresDue = false
        counting = true
        let store = context.audit, since = time.startOfDay(now)
        return .run { .calls(.figuresCounted(try? store.callFigures(since: since))) }
    }

    mutating func update(_ message: CallsMessage) -> Reaction<ConsoleMessage> {
        switch message {
        case .figuresCounted(let counted):
            counting = false
            lastCountedAt = context.now()
            if let counted { figures = counted }
            return .redraw
        }
    }

    // MARK: Handlers

    mutating func handleCaptured(_ key: Key) -> Reaction<ConsoleMessage> {
        guard case .filtering(var prompt) = mode else { return .none }
        let step = prompt.liveFilter(key)
        mode = step.open ? .filtering(prompt) : .list
        if let text = step.text { applyFilter(text) }
        return .redraw
    }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane, let callId) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane, callId: callId)
        return true
    }

    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) {
        if case .success(let directory) = result { providers = directory }
    }

    private mutating func openDetails() {
        guard let call = table.selectedRow else { return }
        mode = .details(DetailPane(items: CallDetails.items(callId: call.callId, context: context, time: time, withBookings: true,
                                                                   providers: providers)),
                        callId: call.callId)
    }

    private mutating func backOut() {
        if case .details = mode {
            mode = .list
        } else if table.source.filter.text != nil {
            applyFilter("")
        }
    }

    private mutating func applyFilter(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != table.source.filter.text else { return }
        table.source.filter.text = wanted
        table.move(.first)
        refreshSteps()
    }

    // MARK: Rendering

    /// Calls in progress now and today's first-call resolution against its target.
    func headerParts(now: UnixMillis) -> [(text: String, scope: String)] {
        guard let figures else { return [("counting calls…", "header")] }
        var parts = [("\(figures.inProgress) in progress", "header.clock")]
        if let rate = figures.firstCallResolution {
            let percent = Int((rate * 100).rounded(.down))
            parts.append(("first-call resolution today \(percent)% of \(figures.ended)",
                          rate < GoLiveTargets.firstCallResolution ? "header.warning" : "header"))
        } else {
            parts.append(("no call ended today", "header"))
        }
        return parts
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        if case .details(var pane, _) = mode {
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
            return
        }
        renderTable(into: &grid, rect: rect, theme: theme, cannotRead: "Cannot read the calls",
                    empty: table.source.filter.text != nil ? "No call matches the filter." : "No calls yet.")
    }

    var captureHints: String? {
        if case .filtering = mode { return "type to filter (caller, intent, outcome, call id)  enter keep  esc clear" }
        return nil
    }

    var statusText: String {
        table.source.filter.text.map { "filter: \($0)   " } ?? ""
    }

    var positionText: String? { nil }

    var filterPrompt: CommandPrompt? {
        if case .filtering(let prompt) = mode { return prompt }
        return nil
    }

}

/// Results of background work the Calls screen started.
public enum CallsMessage: Sendable {
    /// Today's figures (nil: the count failed; the last ones stay).
    case figuresCounted(CallFigures?)
}
