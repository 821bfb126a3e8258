import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The Outbox screen, for on-call staff: the EHR writes that are stuck (failed, dead, or
/// a correction held for a decision never recorded), waiting, in flight or done; why
/// (last error, HTTP status, every attempt); retry now, retry the selected, discard with
/// a reason.
struct OutboxScreen: TableScreen {
    // MARK: Keys

    /// List movement, then the outbox actions. Read-only mode removes the writing ones;
    /// roles other than operator, or a console without an outbox, see them disabled with
    /// the reason.
    static func keyMaps(identity: OperatorIdentity, hasOutbox: Bool) -> [KeyMap<ConsoleAction>] {
        var outbox = ConsoleKeys.outbox()
        let refusal = identity.readOnly ? nil : hasOutbox ? identity.outboxRefusal : Self.noOutbox
        if identity.readOnly {
            outbox.removeDestructive()
        } else if let refusal {
            for action in [ConsoleAction.retry, .retrySelected, .discard, .discardAll] { outbox.setDisabledReason(refusal, for: action) }
        }
        if !identity.seesPatientDetails { outbox = KeyMap(title: outbox.title, bindings: outbox.bindings + [ConsoleKeys.reveal()]) }
        // Items are selected only to retry or discard them together.
        let list = ConsoleKeys.list(selects: !identity.readOnly, selectionRefusal: refusal, help: [
            .open: "Open the item: the request, every attempt, the booking and call it belongs to",
            .filter: "Filter the view by operation, booking, item or error text; Esc clears",
            .select: "Select or unselect the item (for retry or discard of many)",
        ])
        return [KeyMap(title: "Lists", bindings: list), outbox]
    }

    mutating func perform(_ action: ConsoleAction, now: UnixMillis) -> ScreenStep {
        guard context.hasOutbox else { return .none }
        // Details show one item: only its own actions apply.
        if case .details = mode, ![.retry, .discard, .back, .reveal].contains(action) { return .none }
        if let step = move(for: action) { return step }
        switch action {
        case .select: table.toggleMark()
        case .selectAll: table.toggleAll()
        case .open: return openDetails(now: now)
        case .back: return backOut(now: now)
        case .filter: mode = .filtering(CommandPrompt.filter())
        case .nextView: return show(query.view.next(by: 1), now: now)
        case .previousView: return show(query.view.next(by: -1), now: now)
        case .retry: return retryCurrent()
        case .retrySelected: return table.marked.isEmpty ? .work(.outbox(.matching(query, then: .retry))) : confirmBulkRetry()
        case .discard: askDiscardReason()
        case .discardAll: return .work(.outbox(.matching(query, then: .discard)))
        case .reveal:
            guard !context.identity.seesPatientDetails, case .details(_, let id) = mode, revealed != id else { return .none }
            return .work(.outbox(.reveal(itemId: id, callId: openRecord?.item.callId)))
        default: break
        }
        return .none
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
    var table = Table<OutboxItem, String>(columns: OutboxPresentation.columns, id: \.id)
    private(set) var query = OutboxQuery()
    private(set) var mode: Mode = .list
    /// Items per status, read with the rows; nil until the first read is back.
    private(set) var tally: OutboxTally?
    private var reads = ReadSchedule()
    private var readFailure: String?
    private var viewport = 20
    private(set) var writing: WriteWait?
    /// Where a confirm or a discard's reason opened from details goes back to (the
    /// details, not the list); drawn behind it meanwhile.
    private var dialogFrom: Mode?
    /// The item whose patient details a viewer chose to see (cleared on leaving it).
    private(set) var revealed: String?
    /// The open item as last read, so a reveal redraws it without another read.
    private var openRecord: OutboxRecord?
    private let time = TimeText()

    init(context: ConsoleContext) {
        self.context = context
        keyMaps = Self.keyMaps(identity: context.identity, hasOutbox: context.hasOutbox)
        query.searchesErrors = context.identity.seesPatientDetails
        table.showsPosition = false  // the console's status line shows the total
    }

    var view: OutboxView { query.view }

    func pageWork(_ need: TableNeed<OutboxItem>, limit: Int) -> ConsoleWork { .outbox(.page(query, need, limit: limit)) }

    var capturesKeys: Bool {
        switch mode {
        case .filtering, .confirmingRetry, .askingReason, .confirmingDiscard: true
        case .list, .details: false
        }
    }

    var footerActions: Set<ConsoleAction>? {
        if case .details = mode { return [.back, .retry, .discard, .reveal] }
        return nil
    }

    var isWaitingForLock: Bool { writing?.waiting == true }
    mutating func gaveUpWaiting() { writing = nil }

    // MARK: Data

    /// One read: the rows around the selection (it stays on its item), the per-status
    /// counts and the open item, together, so the tabs, the list and the details agree.
    mutating func refresh(now: UnixMillis) -> ScreenStep {
        guard context.hasOutbox, reads.start() else { return .none }
        var details: String?
        if case .details(_, let id) = mode { details = id }
        return .work(.outbox(.snapshot(query, anchor: table.anchor, chunk: table.chunk, details: details)))
    }

    /// "in 12s" counts down in `render`; nothing to read.
    mutating func tick(now: UnixMillis) -> ScreenStep { .none }

    mutating func update(_ message: OutboxMessage, now: UnixMillis) -> ScreenStep {
        switch message {
        case .snapshot(let result):
            var step = reads.finished() ? refresh(now: now) : ScreenStep()
            switch result {
            case .failure(let failure): readFailure = failure.text
            case .success(let snapshot):
                readFailure = nil
                guard snapshot.query == query, !table.isOutrun(by: snapshot.window, readAround: snapshot.anchorId) else {
                    step.add(refresh(now: now)); break
                }
                tally = snapshot.tally
                table.apply(snapshot.window)
                if case .details(var pane, let id) = mode, let record = snapshot.details, record.item.id == id {
                    openRecord = record
                    pane.replaceItems(with: OutboxDetails.pane(for: record, identity: context.identity, presentation: presentation(now: now),
                                                               revealed: revealed == id))
                    mode = .details(pane, itemId: id)
                }
            }
            return step
        case .page(let pageQuery, let result):
            return extend(result, current: pageQuery == query, cannotRead: "Cannot read the outbox")
        case .acted(let acted):
            writing = nil
            table.marked.subtract(acted.done)
            return ScreenStep(say: [(acted.text, acted.isError ? .error : .info)]).and(refresh(now: now))
        case .lockWait(let token):
            if writing?.token == token { writing?.waiting = true }
            return .none
        case .matching(let matchQuery, let action, .success(let ids)):
            guard matchQuery == query, case .list = mode else { return .none }
            return confirmAll(ids, then: action)
        case .matching(_, _, .failure(let failure)):
            return .error("Cannot read the outbox: \(failure.text)")
        case .revealed(let id, let failure):
            if let failure { return .error("Patient details not shown: the audit row could not be written (\(failure.text)).") }
            guard case .details(var pane, id) = mode, let record = openRecord, record.item.id == id else { return .none }
            revealed = id
            pane.replaceItems(with: OutboxDetails.pane(for: record, identity: context.identity, presentation: presentation(now: now), revealed: true))
            mode = .details(pane, itemId: id)
            return .info("Showing \(id)'s patient details; the audit records that you looked.")
        }
    }

    private mutating func write(_ work: OutboxWork) -> ScreenStep {
        let wait = WriteWait(token: (writing?.token ?? 0) + 1)
        writing = wait
        return ScreenStep(work: [.outbox(work)], later: [(WriteWait.patience, .outbox(.lockWait(wait.token)))])
    }

    // MARK: Handlers

    mutating func handleCaptured(_ key: Key, now: UnixMillis) -> ScreenStep {
        switch mode {
        case .filtering(var prompt):
            let step = prompt.liveFilter(key)
            mode = step.open ? .filtering(prompt) : .list
            if !step.open, step.text == nil { return applyFilter("", now: now) }
            if let text = step.text { return applyFilter(text, now: now) }
        case .confirmingRetry(var dialog, let ids):
            switch dialog.handle(key) {
            case .chosen(1):
                closeDialog()
                return write(.retry(ids))
            case .chosen, .cancelled:
                closeDialog()
                return .info("Nothing retried.")
            case .pending:
                mode = .confirmingRetry(dialog, ids: ids)
            }
        case .askingReason(var prompt, let ids):
            // Typed text belongs to the reason, never to the list's keys: the prompt stays
            // open until a reason is given or Esc cancels.
            switch prompt.handle(key) {
            case .submitted(let text):
                let reason = text.trimmingCharacters(in: .whitespaces)
                if reason.isEmpty {
                    prompt.reset()
                    mode = .askingReason(prompt, ids: ids)
                    return .error("A discard needs a reason: it goes into the audit. Type it, or Esc to cancel.")
                }
                confirmDiscard(ids, reason: reason)
            case .cancelled:
                closeDialog()
                return .info("Nothing discarded.")
            case .editing:
                mode = .askingReason(prompt, ids: ids)
            }
        case .confirmingDiscard(var dialog, let ids, let reason):
            switch dialog.handle(key) {
            case .chosen(1):
                closeDialog()
                return write(.discard(ids, reason: reason))
            case .chosen, .cancelled:
                closeDialog()
                return .info("Nothing discarded.")
            case .pending:
                mode = .confirmingDiscard(dialog, ids: ids, reason: reason)
            }
        case .list, .details:
            break
        }
        return .none
    }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane, let id) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane, itemId: id)
        return true
    }

    private mutating func backOut(now: UnixMillis) -> ScreenStep {
        if case .details(_, let id) = mode {
            mode = .list
            // The item acted on may have left this view (a retried item is pending now):
            // say where it went rather than leave the selection on a neighbour unexplained.
            if table.selectedID != id, !table.window.contains(where: { $0.id == id }) {
                return .info("That item is no longer in \(view.title): see the other views (\(keyName(.nextView)) next view).")
            }
        } else if !table.marked.isEmpty {
            table.marked.removeAll()
        } else if query.text != nil {
            return applyFilter("", now: now)
        }
        return .none
    }

    /// Another view starts at its oldest item, with no selection carried over: a bulk
    /// retry acts on what the operator marked in the view in front of them.
    private mutating func show(_ next: OutboxView, now: UnixMillis) -> ScreenStep {
        query.view = next
        return reread(now: now)
    }

    private mutating func reread(now: UnixMillis) -> ScreenStep {
        table = Table(columns: OutboxPresentation.columns, id: \.id)
        table.showsPosition = false
        table.viewportHeight = viewport
        return refresh(now: now)
    }

    private mutating func applyFilter(_ text: String, now: UnixMillis) -> ScreenStep {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != query.text else { return .none }
        query.text = wanted
        return reread(now: now)
    }

    private mutating func openDetails(now: UnixMillis) -> ScreenStep {
        guard let item = table.selectedRow else { return .none }
        // Its attempts, booking and call come with the next read, a frame later.
        revealed = nil
        mode = .details(DetailPane(items: [.heading("Outbox item \(item.id)"), .text("Reading…")]), itemId: item.id)
        return refresh(now: now)
    }

    /// `r`: retry now, unless the EHR's last answer was one a retry gets again (409, 412,
    /// another 4xx): then ask first, saying what to do instead.
    private mutating func retryCurrent() -> ScreenStep {
        guard let id = currentItemId else { return .none }
        let item = openRecord.map(\.item).flatMap { $0.id == id ? $0 : nil } ?? table.window.first { $0.id == id }
        if let item, let refusal = PermanentRefusal(item, lastAttempt: nil) {
            openDialog(.confirmingRetry(ConfirmDialog(title: "Retry a refused item?", message: refusal.warning, confirm: "Retry anyway"), ids: [id]))
            return .none
        }
        return write(.retry([id]))
    }

    /// Every item of the view, as filtered, read as a snapshot of ids when asked: the
    /// confirm says how many, and items that arrive later are not included.
    private mutating func confirmAll(_ ids: [String], then action: OutboxWork.Bulk) -> ScreenStep {
        guard !ids.isEmpty else { return .info("No item in \(view.title) matches.") }
        let scope = "\(ids.count) item\(ids.count == 1 ? "" : "s") in \(view.title)" + (query.text.map { " matching “\($0)”" } ?? "")
        switch action {
        case .retry:
            openDialog(.confirmingRetry(ConfirmDialog(title: "Retry all", message: "Retry all \(scope) now?", confirm: "Retry \(ids.count)"), ids: ids))
        case .discard:
            openDialog(.askingReason(CommandPrompt(prompt: "Why discard all \(scope)? "), ids: ids))
        }
        return .none
    }

    /// The item `r` and `x` act on: the one in details, else the selected row.
    private var currentItemId: String? {
        if case .details(_, let id) = mode { return id }
        return table.selectedRow?.id
    }

    private mutating func confirmBulkRetry() -> ScreenStep {
        // A snapshot of exactly the selected IDs: items that arrive later are not included.
        let ids = table.marked.sorted()
        guard !ids.isEmpty else { return .info("Select items with \(keyName(.select)) first.") }
        let dialog = ConfirmDialog(title: "Retry selected", message: "Retry \(ids.count) selected item\(ids.count == 1 ? "" : "s") now?",
                                   confirm: "Retry \(ids.count)")
        openDialog(.confirmingRetry(dialog, ids: ids))
        return .none
    }

    /// `x` discards the selected items if any are marked (and not in details), else the current one.
    private mutating func askDiscardReason() {
        var ids = [currentItemId].compactMap { $0 }
        if case .list = mode, !table.marked.isEmpty { ids = table.marked.sorted() }
        guard !ids.isEmpty else { return }
        openDialog(.askingReason(CommandPrompt(prompt: "Why discard \(ids.count == 1 ? ids[0] : "\(ids.count) items")? "), ids: ids))
    }

    /// A confirm or a reason over the current view; from details it goes back there.
    private mutating func openDialog(_ dialog: Mode) {
        if case .details = mode { dialogFrom = mode } else { dialogFrom = nil }
        mode = dialog
    }

    private mutating func closeDialog() {
        mode = dialogFrom ?? .list
        dialogFrom = nil
    }

    private mutating func confirmDiscard(_ ids: [String], reason: String) {
        let what = ids.count == 1 ? ids[0] : "\(ids.count) selected items"
        let dialog = ConfirmDialog(title: "Discard", message: "Discard \(what)? It will never be sent to the EHR. Reason: \(reason)",
                                   confirm: "Discard \(ids.count)")
        mode = .confirmingDiscard(dialog, ids: ids, reason: reason)
    }

    private func presentation(now: UnixMillis) -> OutboxPresentation {
        var p = OutboxPresentation(identity: context.identity, now: now, time: time)
        p.ehr = ehr
        return p
    }

    /// The EHR's state from the event stream: in queue mode, waiting items are "paused".
    private var ehr: EHRState?
    mutating func ehrStateChanged(_ state: EHRState?) { ehr = state }

    // MARK: Rendering

    func headerParts(now: UnixMillis) -> [HeaderPart] {
        guard context.hasOutbox else { return [HeaderPart("no outbox database", scope: "header.warning")] }
        guard let t = tally else { return [HeaderPart("counting…")] }
        let stuck = "\(t.counts[.failed, default: 0]) failed · \(t.counts[.dead, default: 0]) dead · \(t.held) held"
        let moving = "\(t.counts[.pending, default: 0] - t.held) pending · \(t.counts[.inFlight, default: 0]) in flight"
        return [HeaderPart(stuck, scope: t.stuck > 0 ? "header.warning" : "header", priority: 1), HeaderPart(moving, priority: 2)]
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme, now: UnixMillis) {
        guard context.hasOutbox else {
            grid.write("No outbox database is configured: start the console with --outbox PATH, or set outbox in the config.",
                       in: rect.inset(dx: 2).row(min(2, rect.height - 1)), style: theme.style("status.error"))
            return
        }
        // A dialog opened from details is drawn over them (dialogFrom is set only then).
        if case .details(var pane, _) = dialogFrom ?? mode {
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
        } else {
            let (tabs, body) = rect.splitTop(1)
            renderTabs(into: &grid, rect: tabs, theme: theme)
            let p = presentation(now: now)
            renderTable(into: &grid, rect: body, theme: theme, cells: p.cells, scope: p.scope, failure: readFailure,
                        cannotRead: "Cannot read the outbox", empty: query.text != nil ? "No item in this view matches the filter." : emptyText)
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
        if let writing, writing.waiting { text += "waiting for the agent's lock… (esc gives up)   " }
        if let filter = query.text { text += "filter: \(filter)   " }
        if !table.marked.isEmpty {
            text += "\(table.marked.count) selected (\(keyName(.retrySelected)) retries, \(keyName(.discard)) discards them)   "
        }
        return text
    }

    var positionText: String? { table.positionText }

    var filterPrompt: CommandPrompt? {
        switch mode {
        case .filtering(let prompt), .askingReason(let prompt, _): prompt
        default: nil
        }
    }

    mutating func resize(body: Size) {
        viewport = max(1, body.height - 2)
        table.viewportHeight = viewport
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
enum OutboxMessage: Sendable {
    /// The ids of every item a query matched, for a bulk action on the whole view.
    case matching(OutboxQuery, then: OutboxWork.Bulk, Result<[String], WriteFailure>)
    case snapshot(Result<OutboxSnapshot, WriteFailure>)
    case page(OutboxQuery, Result<TablePage<OutboxItem>, WriteFailure>)
    case acted(OutboxActed)
    case lockWait(Int)
    /// The reveal's audit row was written (nil) or not.
    case revealed(itemId: String, WriteFailure?)
}
