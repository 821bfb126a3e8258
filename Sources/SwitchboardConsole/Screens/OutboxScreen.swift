import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The Outbox screen, for on-call staff: the EHR writes that are stuck (failed, dead, or
/// a correction held for a decision never recorded), waiting, in flight or done; why
/// (last error, HTTP status, every attempt); retry now, retry the selected, discard with
/// a reason.
struct OutboxScreen: ConsoleScreen {
    // MARK: Keys

    /// List movement, then the outbox actions. Read-only mode removes the writing ones;
    /// roles other than operator, or a console without an outbox, see them disabled with
    /// the reason.
    static func keyMaps(identity: OperatorIdentity, hasOutbox: Bool) -> [KeyMap<ConsoleAction>] {
        var outbox = ConsoleKeys.outbox()
        if identity.readOnly {
            outbox.removeDestructive()
        } else if let refusal = hasOutbox ? identity.outboxRefusal : Self.noOutbox {
            for action in [ConsoleAction.retry, .retrySelected, .discard] { outbox.setDisabledReason(refusal, for: action) }
        }
        return [ConsoleKeys.list(), outbox]
    }

    mutating func perform(_ action: ConsoleAction) -> Reaction<ConsoleMessage> {
        guard table != nil else { return .none }
        // Details show one item: only its own actions apply.
        if case .details = mode, ![.retry, .discard, .back].contains(action) { return .none }
        switch action {
        case .down: table?.move(.down)
        case .up: table?.move(.up)
        case .pageDown: table?.move(.pageDown)
        case .pageUp: table?.move(.pageUp)
        case .first: table?.move(.first)
        case .last: table?.move(.last)
        case .select: table?.toggleMark()
        case .open: openDetails()
        case .back: return Reaction.redraw.and(backOut())
        case .filter: mode = .filtering(CommandPrompt.filter())
        case .nextView: return Reaction.redraw.and(show(view.next(by: 1)))
        case .previousView: return Reaction.redraw.and(show(view.next(by: -1)))
        case .retry: return Reaction.redraw.and(retryOne())
        case .retrySelected: confirmBulkRetry()
        case .discard: askDiscardReason()
        default: return .none
        }
        return .redraw
    }

    // MARK: State

    enum Mode {
        case list
        case details(DetailPane, itemId: String)
        case filtering(CommandPrompt)
        case confirmingRetry(ConfirmDialog, ids: [String])
        case askingReason(CommandPrompt, ids: [String])
        case confirmingDiscard(ConfirmDialog, ids: [String], reason: String)
    }

    static let noOutbox = "no outbox database is configured (--outbox PATH, or outbox in the config)"

    let context: ConsoleContext
    var keyMaps: [KeyMap<ConsoleAction>]
    /// Nil when the console was started without an outbox database.
    private(set) var table: Table<OutboxSource>?
    private let actions: OutboxActions?
    private(set) var mode: Mode = .list
    var notices: [(text: String, kind: Toasts.Kind)] = []
    /// Items per status, counted in the background; nil until the first count is back.
    private(set) var tally: OutboxTally?
    /// A count is a scan of the status index (a few ms per 100k items): off the UI
    /// thread, and for data changes at most every 2 s.
    private var counts = CountSchedule(everyMillis: 2_000)

    init(context: ConsoleContext) {
        self.context = context
        let outbox = context.actions.outbox
        keyMaps = Self.keyMaps(identity: context.identity, hasOutbox: outbox != nil)
        actions = outbox.map { OutboxActions(outbox: $0, audit: context.audit, operator: context.identity) }
        if let outbox {
            var table = Table(source: OutboxSource(store: outbox), columns: OutboxPresentation.columns, cells: { _ in [] })
            table.showsPosition = false  // the console's status line shows the total
            self.table = table
        }
    }

    var view: OutboxView { table?.source.view ?? .stuck }

    var capturesKeys: Bool {
        switch mode {
        case .filtering, .confirmingRetry, .askingReason, .confirmingDiscard: true
        case .list, .details: false
        }
    }

    var footerActions: Set<ConsoleAction>? {
        if case .details = mode { return [.back, .retry, .discard] }
        return nil
    }

    // MARK: Data

    /// On screen, and after every data change: the rows (the selection stays on its
    /// item), and the counts in the background.
    mutating func refresh() -> Reaction<ConsoleMessage> {
        reloadRows()
        return recount()
    }

    /// Once a second: "in 12s" counts down, and a coalesced recount may be due.
    mutating func tick() -> Reaction<ConsoleMessage> {
        updateCells()
        return counts.due ? recount() : .none
    }

    private mutating func reloadRows() {
        guard table != nil else { return }
        updateCells()
        table?.reload()
    }

    private mutating func updateCells() {
        let presentation = OutboxPresentation(now: context.now())
        table?.cells = { presentation.cells($0) }
        table?.rowScope = { presentation.scope($0) }
    }

    private mutating func recount(force: Bool = false) -> Reaction<ConsoleMessage> {
        guard let store = context.actions.outbox, counts.start(force: force, now: context.now()) else { return .none }
        return .run { .outbox(.counted(try? OutboxTally.count(store))) }
    }

    mutating func update(_ message: OutboxMessage) -> Reaction<ConsoleMessage> {
        switch message {
        case .counted(let tally):
            let again = counts.finished(now: context.now())
            if let tally { self.tally = tally }
            setKnownTotal()
            table?.reload()
            return again ? Reaction.redraw.and(recount(force: true)) : .redraw
        }
    }

    /// The view's length from the last count; unknown while a filter narrows it.
    private func setKnownTotal() {
        guard let source = table?.source else { return }
        source.knownTotal = source.text == nil ? tally.map { source.view.count(in: $0) } : nil
    }

    // MARK: Handlers

    mutating func handleCaptured(_ key: Key) -> Reaction<ConsoleMessage> {
        switch mode {
        case .filtering(var prompt):
            let step = prompt.liveFilter(key)
            mode = step.open ? .filtering(prompt) : .list
            if let text = step.text { applyFilter(text) }
        case .confirmingRetry(var dialog, let ids):
            switch dialog.handle(key) {
            case .chosen(1):
                mode = .list
                return Reaction.redraw.and(retryAll(ids))
            case .chosen, .cancelled:
                mode = .list
                notices.append(("Nothing retried.", .info))
            case .pending:
                mode = .confirmingRetry(dialog, ids: ids)
            }
        case .askingReason(var prompt, let ids):
            switch prompt.handle(key) {
            case .submitted(let text):
                let reason = text.trimmingCharacters(in: .whitespaces)
                if reason.isEmpty {
                    mode = .list
                    notices.append(("Nothing discarded: a discard needs a reason.", .error))
                } else {
                    confirmDiscard(ids, reason: reason)
                }
            case .cancelled:
                mode = .list
                notices.append(("Nothing discarded.", .info))
            case .editing:
                mode = .askingReason(prompt, ids: ids)
            }
        case .confirmingDiscard(var dialog, let ids, let reason):
            switch dialog.handle(key) {
            case .chosen(1):
                mode = .list
                return Reaction.redraw.and(discard(ids, reason: reason))
            case .chosen, .cancelled:
                mode = .list
                notices.append(("Nothing discarded.", .info))
            case .pending:
                mode = .confirmingDiscard(dialog, ids: ids, reason: reason)
            }
        case .list, .details:
            break
        }
        return .redraw
    }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane, let id) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane, itemId: id)
        return true
    }

    private mutating func backOut() -> Reaction<ConsoleMessage> {
        if case .details = mode {
            mode = .list
        } else if table?.marked.isEmpty == false {
            table?.marked.removeAll()
        } else if table?.source.text != nil {
            applyFilter("")
        }
        return .none
    }

    /// Another view starts at its oldest item, with no selection carried over: a bulk
    /// retry acts on what the operator marked in the view in front of them.
    private mutating func show(_ next: OutboxView) -> Reaction<ConsoleMessage> {
        guard let source = table?.source else { return .none }
        source.view = next
        table?.marked.removeAll()
        setKnownTotal()
        table?.move(.first)
        table?.reload()
        return .none
    }

    private mutating func applyFilter(_ text: String) {
        guard let source = table?.source else { return }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != source.text else { return }
        source.text = wanted
        setKnownTotal()
        reloadRows()
    }

    private mutating func openDetails() {
        guard let item = table?.selectedRow, let pane = detailPane(itemId: item.id) else { return }
        mode = .details(pane, itemId: item.id)
    }

    private func detailPane(itemId: String) -> DetailPane? {
        guard let outbox = context.actions.outbox, let item = try? outbox.item(id: itemId) else { return nil }
        return OutboxDetails.pane(for: item, outbox: outbox, audit: context.audit, identity: context.identity,
                                  presentation: OutboxPresentation(now: context.now()))
    }

    /// The item `r` and `x` act on: the one in details, else the selected row.
    private var currentItemId: String? {
        if case .details(_, let id) = mode { return id }
        return table?.selectedRow?.id
    }

    private mutating func retryOne() -> Reaction<ConsoleMessage> {
        guard let actions, let id = currentItemId else { return .none }
        do {
            switch try actions.retryNow(itemId: id, now: context.now()) {
            case .done: notices.append(("Retrying \(id) now: the agent's worker sends it next.", .info))
            case .refused(let why), .notAllowed(let why): notices.append((why, .error))
            }
        } catch {
            notices.append(("Not retried: \(error)", .error))
        }
        return afterAction()
    }

    private mutating func confirmBulkRetry() {
        // A snapshot of exactly the selected IDs: items that arrive later are not included.
        let ids = (table?.marked ?? []).sorted()
        guard !ids.isEmpty else {
            notices.append(("Select items with space first.", .info))
            return
        }
        let dialog = ConfirmDialog(title: "Retry selected", message: "Retry \(ids.count) selected item\(ids.count == 1 ? "" : "s") now?",
                                   confirm: "Retry \(ids.count)")
        mode = .confirmingRetry(dialog, ids: ids)
    }

    private mutating func retryAll(_ ids: [String]) -> Reaction<ConsoleMessage> {
        guard let actions else { return .none }
        do {
            let outcome = try actions.retryAll(ids, now: context.now())
            if let why = outcome.notAllowed {
                notices.append((why, .error))
            } else {
                var text = "Retrying \(outcome.done.count) of \(ids.count) now."
                if let first = outcome.refused.first {
                    text += " \(outcome.refused.count) refused, e.g. \(first.why)."
                }
                notices.append((text, outcome.refused.isEmpty ? .info : .error))
                table?.marked.subtract(outcome.done)
            }
        } catch {
            notices.append(("Not retried: \(error)", .error))
        }
        return afterAction()
    }

    /// `x` discards the selected items if any are marked (and not in details), else the current one.
    private mutating func askDiscardReason() {
        var ids = [currentItemId].compactMap { $0 }
        if case .list = mode, let marked = table?.marked, !marked.isEmpty { ids = marked.sorted() }
        guard !ids.isEmpty else { return }
        mode = .askingReason(CommandPrompt(prompt: "Why discard \(ids.count == 1 ? ids[0] : "\(ids.count) items")? "), ids: ids)
    }

    private mutating func confirmDiscard(_ ids: [String], reason: String) {
        let what = ids.count == 1 ? ids[0] : "\(ids.count) selected items"
        let dialog = ConfirmDialog(title: "Discard", message: "Discard \(what)? It will never be sent to the EHR. Reason: \(reason)",
                                   confirm: "Discard \(ids.count)")
        mode = .confirmingDiscard(dialog, ids: ids, reason: reason)
    }

    private mutating func discard(_ ids: [String], reason: String) -> Reaction<ConsoleMessage> {
        guard let actions else { return .none }
        var done: [String] = []
        var refused: [String] = []
        do {
            for id in ids {
                switch try actions.discard(itemId: id, reason: reason, now: context.now()) {
                case .done: done.append(id)
                case .refused(let why), .notAllowed(let why): refused.append(why)
                }
            }
        } catch {
            refused.append("\(error)")
        }
        if ids.count == 1, let why = refused.first {
            notices.append((why, .error))
        } else if ids.count == 1 {
            notices.append(("Discarded \(ids[0]).", .info))
        } else {
            notices.append(("Discarded \(done.count) of \(ids.count)." + (refused.first.map { " Refused: \($0)." } ?? ""),
                            refused.isEmpty ? .info : .error))
        }
        table?.marked.subtract(done)
        return afterAction()
    }

    /// The rows after an action (an item that left the view hands the selection to the
    /// one that took its place), the open details, and the counts.
    private mutating func afterAction() -> Reaction<ConsoleMessage> {
        if case .details(_, let id) = mode, let pane = detailPane(itemId: id) { mode = .details(pane, itemId: id) }
        reloadRows()
        return recount(force: true)
    }

    // MARK: Rendering

    func headerParts(now: UnixMillis) -> [(text: String, scope: String)] {
        guard table != nil else { return [("no outbox database", "header.warning")] }
        guard let t = tally else { return [("counting…", "header")] }
        let stuck = "\(t.counts[.failed, default: 0]) failed · \(t.counts[.dead, default: 0]) dead · \(t.held) held"
        let moving = "\(t.counts[.pending, default: 0] - t.held) pending · \(t.counts[.inFlight, default: 0]) in flight"
        return [(stuck, t.stuck > 0 ? "header.warning" : "header"), (moving, "header")]
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        guard var table else {
            grid.write("No outbox database is configured: start the console with --outbox PATH, or set outbox in the config.",
                       in: rect.inset(dx: 2).row(min(2, rect.height - 1)), style: theme.style("status.error"))
            return
        }
        if case .details(var pane, _) = mode {
            pane.viewportHeight = rect.height
            return pane.render(into: &grid, rect: rect, theme: theme)
        }
        let (tabs, body) = rect.splitTop(1)
        renderTabs(into: &grid, rect: tabs, theme: theme)
        table.viewportHeight = max(1, body.height - 1)
        table.render(into: &grid, rect: body, theme: theme)
        if table.window.isEmpty {
            let text = table.source.failure.map { "Cannot read the outbox: \($0)" }
                ?? (table.source.text != nil ? "No item in this view matches the filter." : emptyText)
            grid.write(text, x: body.x + 2, y: body.y + 2, style: theme.style(table.source.failure == nil ? "table.row.dim" : "status.error"),
                       maxWidth: body.width - 4)
        }
        switch mode {
        case .confirmingRetry(let dialog, _), .confirmingDiscard(let dialog, _, _): dialog.render(into: &grid, rect: rect, theme: theme)
        default: break
        }
    }

    private var emptyText: String {
        switch view {
        case .stuck: "Nothing is stuck: no failed, dead or held items."
        case .pending: "Nothing is waiting to be sent."
        case .inFlight: "Nothing is being sent right now."
        case .succeeded: "Nothing has been sent yet."
        case .discarded: "Nothing has been discarded."
        }
    }

    /// The views as tabs, each with its count; the current one stands out.
    private func renderTabs(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        var x = rect.x + 1
        for candidate in OutboxView.allCases {
            let count = tally.map { " \(candidate.count(in: $0))" } ?? ""
            let scope = candidate == view ? "outbox.tab.current" : "outbox.tab"
            x += grid.write(" \(candidate.title)\(count) ", x: x, y: rect.y, style: theme.style(scope), maxWidth: max(0, rect.x + rect.width - x))
            x += 1
        }
    }

    var captureHints: String? {
        switch mode {
        case .confirmingRetry, .confirmingDiscard: "enter choose focused  ←/→ move  y confirm  n/esc cancel"
        case .filtering: "type to filter (operation, booking, item, error)  enter keep  esc clear"
        case .askingReason: "type the reason (it goes into the audit)  enter next  esc cancel"
        default: nil
        }
    }

    var statusText: String {
        var text = "view: \(view.title.lowercased())   "
        if let filter = table?.source.text { text += "filter: \(filter)   " }
        if let marked = table?.marked, !marked.isEmpty { text += "\(marked.count) selected (R retries them)   " }
        return text
    }

    var positionText: String? { table?.positionText }

    var filterPrompt: CommandPrompt? {
        switch mode {
        case .filtering(let prompt), .askingReason(let prompt, _): prompt
        default: nil
        }
    }

    mutating func resize(bodyHeight: Int) {
        table?.viewportHeight = max(1, bodyHeight - 2)
    }
}

extension OutboxView {
    /// The view `step` places on, wrapping around.
    func next(by step: Int) -> OutboxView {
        let all = Self.allCases
        return all[(rawValue + step + all.count) % all.count]
    }
}

/// Results of background work the Outbox screen started.
public enum OutboxMessage: Sendable {
    /// Items per status (nil: the count failed).
    case counted(OutboxTally?)
}
