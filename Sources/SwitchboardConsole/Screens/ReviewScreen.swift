import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The go-live Review screen: every flagged booking, undecided first and oldest first;
/// approve in one key, undo for a few seconds, correct with a live slot picker, bulk
/// approve exactly the selected rows.
struct ReviewScreen: TableScreen {
    // MARK: Keys

    /// The screen's bindings: list movement, then the review actions. Read-only mode and
    /// roles that may not review lose the writing ones (disabled, with the reason shown).
    static func keyMaps(identity: OperatorIdentity) -> [KeyMap<ConsoleAction>] {
        var review = ConsoleKeys.review()
        if identity.readOnly {
            review.removeDestructive()
        } else if let refusal = identity.reviewRefusal {
            for action in [ConsoleAction.approve, .undo, .correct, .approveSelected] {
                review.setDisabledReason(refusal, for: action)
            }
        }
        return [ConsoleKeys.list(), review]
    }

    mutating func perform(_ action: ConsoleAction) -> Reaction<ConsoleMessage> {
        // The "changed in the EHR" view takes only its own choices; the list stays put.
        if case .changed = mode, ![.approve, .correct, .back].contains(action) { return .none }
        if move(for: action) { return .redraw }
        switch action {
        case .select: table.toggleMark()
        case .open: openDetails()
        case .back: return Reaction.redraw.and(backOut())
        case .filter: mode = .filtering(CommandPrompt.filter())
        case .toggleDecided: return Reaction.redraw.and(toggleDecided())
        case .approve: approveSelected()
        case .undo: undoLastApproval()
        case .approveSelected: confirmBulkApprove()
        case .correct: return startCorrection()
        default: return .none
        }
        return .redraw
    }

    // MARK: State

    enum Mode {
        case list
        case details(DetailPane)
        case filtering(CommandPrompt)
        case confirmingBulk(ConfirmDialog, ids: [String])
        case correcting(CorrectionForm)
        /// After a 412: the appointment as the agent booked it beside how it is now.
        case changed(ChangedAppointment)
    }

    let context: ConsoleContext
    var keyMaps: [KeyMap<ConsoleAction>]
    var table: Table<ReviewSource>
    private(set) var mode: Mode = .list
    /// Notices for the console to show as transient messages.
    var notices: [(text: String, kind: Toasts.Kind)] = []
    /// The last approval made here, for `u`.
    private var lastApproval: (bookingId: String, at: UnixMillis)?
    private var backlog = ReviewBacklog(undecided: 0, oldestBookedAt: nil)
    /// The list's total is counted in the background; on 1.6M bookings a count is 70 ms
    /// of a core, so data changes recount at most every 5 s.
    private var counts = CountSchedule(everyMillis: 5_000)
    private var corrections: [String: CorrectionProgress] = [:]
    /// The practice's providers by name, once the EHR has answered (asked at start, and
    /// again when a correction form opens without them).
    private var providers: ProviderDirectory?
    private var askingForProviders = false

    init(context: ConsoleContext) {
        self.context = context
        keyMaps = Self.keyMaps(identity: context.identity)
        let source = ReviewSource(store: context.audit, filter: ReviewFilter(bookedSince: context.clock.window.startsAt))
        table = Table(source: source, columns: ReviewPresentation.columns, cells: { _ in [] })
        table.showsPosition = false  // the console's status line shows it
    }

    /// Whether a text field has the keyboard (keys go to it, not to the key map).
    var capturesKeys: Bool {
        switch mode {
        case .filtering, .confirmingBulk, .correcting: true
        case .list, .details, .changed: false
        }
    }

    /// The bindings that apply in the current mode, for the footer.
    var footerActions: Set<ConsoleAction>? {
        switch mode {
        case .details: [.back, .approve, .undo, .correct]
        case .changed: [.back, .approve, .correct]
        default: nil
        }
    }

    // MARK: Data

    /// On screen (the console starts on it), and after every data change: the rows, the
    /// figures, and the total in the background.
    mutating func refresh() -> Reaction<ConsoleMessage> {
        reload()
        return recount()
    }

    /// A data change seen while counting waits for its recount until the next tick.
    mutating func tick() -> Reaction<ConsoleMessage> {
        counts.due ? recount() : .none
    }

    /// Re-reads the visible rows, the header figures and correction progress. The table
    /// keeps the selection on the same booking, wherever it moved.
    mutating func reload() {
        if let figures = try? context.audit.reviewBacklog(since: context.clock.window.startsAt) { backlog = figures }
        reloadRows()
    }

    /// The rows only: what a filter key needs (the header figures do not depend on it).
    private mutating func reloadRows() {
        let presentation = makePresentation()
        table.cells = { presentation.cells($0) }
        table.rowScope = { presentation.scope($0) }
        table.reload()
        refreshCorrections()
    }

    /// Counts the list's total off the UI thread; the total appears when known. `force`
    /// for a new filter (the old total is wrong); data changes are coalesced.
    mutating func recount(force: Bool = false) -> Reaction<ConsoleMessage> {
        guard table.source.filter.text == nil else {
            table.source.knownTotal = nil
            counts.skip()
            return .none
        }
        guard counts.start(force: force, now: context.now()) else { return .none }
        let store = context.audit, filter = table.source.filter
        return .run { .review(.totalCounted(filter, try? store.reviewCount(filter))) }
    }

    private func makePresentation() -> ReviewPresentation {
        var p = ReviewPresentation(identity: context.identity, now: context.now(), overdueMillis: context.overdueMillis)
        p.providers = providers
        p.corrections = corrections.mapValues { "✎ " + $0.shortLabel }
        p.correctionDetails = corrections.mapValues(\.label)
        return p
    }

    /// Correction progress for the corrected rows in view (a handful of indexed reads).
    private mutating func refreshCorrections() {
        var progress: [String: CorrectionProgress] = [:]
        for item in table.window where item.decision?.decision == .corrected {
            if let outboxItem = try? context.actions.correctionStatus(bookingId: item.id) {
                progress[item.id] = CorrectionProgress(outboxItem)
            }
        }
        if progress != corrections {
            corrections = progress
            let presentation = makePresentation()
            table.cells = { presentation.cells($0) }
        }
    }

    // MARK: Handlers

    /// Keys while a dialog, form or filter line has the keyboard.
    mutating func handleCaptured(_ key: Key) -> Reaction<ConsoleMessage> {
        switch mode {
        case .filtering(var prompt):
            let step = prompt.liveFilter(key)
            mode = step.open ? .filtering(prompt) : .list
            if let text = step.text { return Reaction.redraw.and(applyFilter(text)) }
        case .confirmingBulk(var dialog, let ids):
            switch dialog.handle(key) {
            case .chosen(let index) where index == 0:
                mode = .list
                bulkApprove(ids)
            case .chosen, .cancelled:
                mode = .list
                notices.append(("Nothing approved.", .info))
            case .pending:
                mode = .confirmingBulk(dialog, ids: ids)
            }
        case .correcting(var form):
            let outcome = form.handle(key)
            let search = searchSlots(&form)
            mode = .correcting(form)
            switch outcome {
            case .submitted: submitCorrection(form)
            case .cancelled: mode = .list
            case .editing: return Reaction.redraw.and(search)
            }
        case .list, .details, .changed:
            break
        }
        return .redraw
    }

    /// Keys the details view scrolls with before the key map sees them.
    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane)
        return true
    }

    mutating func update(_ message: ReviewMessage) -> Reaction<ConsoleMessage> {
        switch message {
        case .slotsFound(let bookingId, let providerRef, let result):
            guard case .correcting(var form) = mode, form.bookingId == bookingId else { return .none }
            form.slotsArrived(result, providerRef: providerRef, presentation: makePresentation())
            mode = .correcting(form)
            return .redraw
        case .appointmentRead(let bookingId, .success(let current)):
            guard case .list = mode, let item = table.selectedRow, item.id == bookingId else { return .none }
            mode = .changed(ChangedAppointment(item: item, current: current, presentation: makePresentation()))
            return .redraw
        case .totalCounted(let filter, let total):
            let again = counts.finished(now: context.now())
            if filter == table.source.filter {
                table.source.knownTotal = total
                table.reload()
            }
            if again {
                return Reaction.redraw.and(recount(force: filter != table.source.filter))
            }
            return .redraw
        case .appointmentRead(_, .failure(let failure)):
            notices.append(("Could not read the appointment from the EHR: \(failure.text)", .error))
            return .redraw
        }
    }

    private mutating func backOut() -> Reaction<ConsoleMessage> {
        switch mode {
        case .details, .changed: mode = .list
        default:
            if !table.marked.isEmpty {
                table.marked.removeAll()
            } else if table.source.filter.text != nil {
                return applyFilter("")
            }
        }
        return .none
    }

    private mutating func applyFilter(_ text: String) -> Reaction<ConsoleMessage> {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != table.source.filter.text else { return .none }
        let wasCounted = table.source.filter.text == nil
        table.source.filter.text = wanted
        table.source.filter.providerRefs = wanted.flatMap { providers?.refs(named: $0) } ?? []
        if wanted == nil || wasCounted { table.source.knownTotal = nil }
        reloadRows()
        return recount(force: true)
    }

    private mutating func toggleDecided() -> Reaction<ConsoleMessage> {
        table.source.filter.undecidedOnly.toggle()
        table.source.knownTotal = nil
        notices.append((table.source.filter.undecidedOnly ? "Showing undecided bookings only." : "Showing all bookings.", .info))
        reloadRows()
        return recount(force: true)
    }

    private mutating func openDetails() {
        guard let item = table.selectedRow else { return }
        mode = .details(ReviewDetails.pane(for: item, context: context, presentation: makePresentation()))
    }

    private mutating func approveSelected() {
        if case .changed(let changed) = mode { return decideAgain(changed, .keepEHR) }
        guard let item = table.selectedRow else { return }
        let now = context.now()
        do {
            switch try context.actions.approve(bookingId: item.id, now: now) {
            case .recorded:
                lastApproval = (item.id, now)
                notices.append(("Approved \(item.id). u undoes for \(context.actions.undoSeconds) s.", .info))
                if case .details = mode { mode = .list }
                table.move(.down)
            case .alreadyDecided(let first):
                notices.append((ReviewDetails.alreadyDecided(first, presentation: makePresentation()), .error))
            case .noSuchBooking(let id):
                notices.append(("Booking \(id) no longer exists.", .error))
            case .notAllowed(let why):
                notices.append((why, .error))
            }
        } catch {
            notices.append(("Not approved: \(error)", .error))
        }
        reload()
    }

    private mutating func undoLastApproval() {
        guard let last = lastApproval else {
            notices.append(("Nothing to undo.", .info))
            return
        }
        do {
            switch try context.actions.undoApproval(bookingId: last.bookingId, now: context.now()) {
            case .undone:
                notices.append(("Approval of \(last.bookingId) undone.", .info))
                lastApproval = nil
                reload()
                // Back on the booking whose approval was taken back, now undecided again.
                if let restored = try? context.audit.reviewItem(bookingId: last.bookingId) { table.reveal(restored) }
                return
            case .refused(let reason):
                notices.append((reason, .error))
            }
        } catch {
            notices.append(("Not undone: \(error)", .error))
        }
        reload()
    }

    private mutating func confirmBulkApprove() {
        // A snapshot of exactly the selected IDs: rows that arrive later are not included.
        let ids = table.marked.sorted()
        guard !ids.isEmpty else {
            notices.append(("Select bookings with space first.", .info))
            return
        }
        let dialog = ConfirmDialog(title: "Approve selected",
                                   message: "Approve \(ids.count) selected booking\(ids.count == 1 ? "" : "s")?",
                                   choices: [.init("Approve \(ids.count)", shortcut: .char("y")), .init("Cancel", shortcut: .char("n"))],
                                   safeChoice: 1)
        mode = .confirmingBulk(dialog, ids: ids)
    }

    private mutating func bulkApprove(_ ids: [String]) {
        do {
            let outcome = try context.actions.approveAll(ids, now: context.now())
            if let why = outcome.notAllowed {
                notices.append((why, .error))
            } else {
                var text = "Approved \(outcome.approved.count) of \(ids.count)."
                if !outcome.alreadyDecided.isEmpty { text += " \(outcome.alreadyDecided.count) already decided by others." }
                if !outcome.missing.isEmpty { text += " \(outcome.missing.count) no longer exist." }
                notices.append((text, outcome.approved.count == ids.count ? .info : .error))
                table.marked.subtract(outcome.approved)
                table.marked.subtract(outcome.alreadyDecided.map(\.bookingId))
            }
        } catch {
            notices.append(("Not approved: \(error)", .error))
        }
        reload()
    }

    private mutating func startCorrection() -> Reaction<ConsoleMessage> {
        if let refusal = context.identity.reviewRefusal {
            notices.append((refusal, .error))
            return .redraw
        }
        if case .changed(let changed) = mode {
            return openCorrectionForm(CorrectionForm(booking: changed.bookingAsItIsNow, slotsAvailable: context.ehr != nil,
                                                     presentation: makePresentation(), against: changed.current))
        }
        guard let item = table.selectedRow else { return .none }
        if corrections[item.id]?.needsNewDecision == true { return rereadAppointment(item) }
        if let decision = item.decision {
            notices.append((ReviewDetails.alreadyDecided(decision, presentation: makePresentation()), .error))
            return .redraw
        }
        // A later call already moved or cancelled this appointment: the EHR would refuse a
        // correction of this booking's version. The later booking is the one to correct.
        if let later = try? context.audit.laterBooking(than: item.booking) {
            let kind = later.booking.kind == .reschedule ? "moved" : later.booking.kind == .cancel ? "cancelled" : "changed"
            notices.append(("\(item.booking.appointmentRef) was \(kind) by a later call (booking \(later.id), "
                            + "\(makePresentation().clock(later.booking.bookedAt))): correct that booking; it is now selected.", .error))
            table.reveal(later)
            return .redraw
        }
        return openCorrectionForm(CorrectionForm(booking: item.booking, slotsAvailable: context.ehr != nil, presentation: makePresentation()))
    }

    private mutating func openCorrectionForm(_ form: CorrectionForm) -> Reaction<ConsoleMessage> {
        var form = form
        let search = searchSlots(&form)
        mode = .correcting(form)
        return Reaction.redraw.and(search).and(askForProviders())
    }

    /// The live free-slot search for the provider the form wants, when its picker does
    /// not show theirs yet: from the day before the booked start (or now) on.
    private func searchSlots(_ form: inout CorrectionForm) -> Reaction<ConsoleMessage> {
        guard let ehr = context.ehr, form.needsSlots, let provider = form.loadSlots() else { return .none }
        let bookingId = form.bookingId
        let from = max(context.now(), form.booking.startAt - 86_400_000)
        return .run {
            do {
                return .review(.slotsFound(bookingId: bookingId, providerRef: provider,
                                           .success(try await ehr.freeSlots(providerRef: provider, from: from))))
            } catch {
                return .review(.slotsFound(bookingId: bookingId, providerRef: provider, .failure(EHRFailure(text: "\(error)"))))
            }
        }
    }

    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) {
        askingForProviders = false
        guard case .success(let directory) = result else { return }  // asked again with the next form
        providers = directory
        // A filter typed before the names were known may now match some.
        if let text = table.source.filter.text { table.source.filter.providerRefs = directory.refs(named: text) }
        reloadRows()
    }

    /// Asks the EHR again for the providers a correction form needs, if the console's
    /// question at start found none (and none is under way from here).
    private mutating func askForProviders() -> Reaction<ConsoleMessage> {
        guard let ehr = context.ehr, providers == nil, !askingForProviders else { return .none }
        askingForProviders = true
        return .run { await ehr.providersFound() }
    }

    /// After a 412 nothing is retried blindly: read the appointment as it is now and
    /// show the manager what changed.
    private mutating func rereadAppointment(_ item: ReviewItem) -> Reaction<ConsoleMessage> {
        guard let ehr = context.ehr else {
            notices.append(("The EHR refused this correction (412); connect the EHR (--ehr) to see what changed and decide again.", .error))
            return .redraw
        }
        notices.append(("Reading \(item.booking.appointmentRef) from the EHR…", .info))
        let bookingId = item.id, ref = item.booking.appointmentRef
        return .run {
            do {
                return .review(.appointmentRead(bookingId: bookingId, .success(try await ehr.appointment(ref))))
            } catch {
                return .review(.appointmentRead(bookingId: bookingId, .failure(EHRFailure(text: "\(error)"))))
            }
        }
    }

    private mutating func decideAgain(_ changed: ChangedAppointment, _ choice: SecondDecision) {
        do {
            switch try context.actions.decideAgain(bookingId: changed.bookingId, current: changed.current, choice: choice, now: context.now()) {
            case .recorded:
                switch choice {
                case .keepEHR: notices.append(("Kept the EHR's version \(changed.current.version) of \(changed.bookingId).", .info))
                case .reapply: notices.append(("Correction of \(changed.bookingId) queued again against version \(changed.current.version).", .info))
                }
                mode = .list
            case .alreadyDecided(let first):
                notices.append((ReviewDetails.alreadyDecided(first, presentation: makePresentation()), .error))
            case .noSuchBooking(let id):
                notices.append(("Booking \(id) no longer exists.", .error))
                mode = .list
            case .notAllowed(let why):
                notices.append((why, .error))
                mode = .list
            }
        } catch {
            notices.append(("Not decided: \(error)", .error))
        }
        reload()
    }

    private mutating func submitCorrection(_ form: CorrectionForm) {
        guard case .correcting(var current) = mode else { return }
        let correction: Correction
        switch form.correction() {
        case .success(let value): correction = value
        case .failure(let problem):
            current.form.message = problem.text
            mode = .correcting(current)
            return
        }
        if let current = form.against {
            mode = .list
            decideAgain(ChangedAppointment(bookingId: form.bookingId, current: current), .reapply(correction))
            return
        }
        do {
            switch try context.actions.correct(correction, now: context.now()) {
            case .recorded:
                notices.append(("Corrected \(correction.bookingId) (\(correction.category.label)); the EHR change waits in the outbox.", .info))
                mode = .list
                table.move(.down)
            case .alreadyDecided(let first):
                notices.append((ReviewDetails.alreadyDecided(first, presentation: makePresentation()), .error))
                mode = .list
            case .noSuchBooking(let id):
                notices.append(("Booking \(id) no longer exists.", .error))
                mode = .list
            case .notAllowed(let why):
                current.form.message = why
                mode = .correcting(current)
            }
        } catch {
            current.form.message = "\(error)"
            mode = .correcting(current)
        }
        reload()
    }

    // MARK: Rendering

    /// The header figures: window clock, undecided count, oldest age.
    func headerParts(now: UnixMillis) -> [(text: String, scope: String)] {
        let window = context.clock.window
        var parts: [(String, String)] = []
        if window.isOver(at: now) {
            parts.append(("go-live window closed", "header.warning"))
        } else {
            parts.append(("window \(formatDuration(millis: window.remaining(at: now))) left", "header.clock"))
        }
        let overdue = backlog.oldestBookedAt.map { now - $0 > context.overdueMillis } ?? false
        var undecided = "\(backlog.undecided) undecided"
        if let oldest = backlog.oldestBookedAt { undecided += " · oldest \(formatDuration(millis: now - oldest))" }
        parts.append((undecided, overdue ? "header.warning" : "header"))
        return parts
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        switch mode {
        case .details(var pane):
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
        case .changed(var changed):
            changed.pane.viewportHeight = rect.height
            changed.pane.render(into: &grid, rect: rect, theme: theme)
        default:
            renderTable(into: &grid, rect: rect, theme: theme, cannotRead: "Cannot read the review queue",
                        empty: table.source.filter.text != nil ? "No booking matches the filter." : "No flagged bookings in the go-live window yet.")
        }
        switch mode {
        case .confirmingBulk(let dialog, _): dialog.render(into: &grid, rect: rect, theme: theme)
        case .correcting(let form): form.form.render(into: &grid, rect: rect, theme: theme)
        default: break
        }
    }

    /// The footer while a dialog or form has the keyboard (its keys are its own, not the key map's).
    var captureHints: String? {
        switch mode {
        case .correcting: "tab next field  ←/→ choose  type to edit  enter submit  esc cancel"
        case .confirmingBulk: "enter choose focused  ←/→ move  y confirm  n/esc cancel"
        case .filtering: "type to filter  enter keep  esc clear"
        default: nil
        }
    }

    /// What narrows the list, for the status line.
    var statusText: String {
        var text = ""
        if let filter = table.source.filter.text { text += "filter: \(filter)   " }
        if table.source.filter.undecidedOnly { text += "undecided only   " }
        if !table.marked.isEmpty { text += "\(table.marked.count) selected (A approves them)   " }
        return text
    }

    var positionText: String? { table.positionText }

    /// The bottom line's prompt while filtering.
    var filterPrompt: CommandPrompt? {
        if case .filtering(let prompt) = mode { return prompt }
        return nil
    }

}

/// Results of background work the Review screen started.
public enum ReviewMessage: Sendable {
    case slotsFound(bookingId: String, providerRef: String, Result<[FreeSlot], EHRFailure>)
    case appointmentRead(bookingId: String, Result<AppointmentNow, EHRFailure>)
    /// The list's total for this filter, counted in the background (nil: the count failed).
    case totalCounted(ReviewFilter, Int?)
}

