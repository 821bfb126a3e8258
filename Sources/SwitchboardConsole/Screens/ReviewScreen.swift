import Foundation
import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The go-live Review screen: every flagged booking, undecided first and oldest first;
/// approve in one key, undo for a few seconds, correct with a live slot picker, bulk
/// approve exactly the selected rows. Its state is a value; keys return work for the
/// operations runner, whose answers come back as ``ReviewMessage``s.
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
        if !identity.seesPatientDetails { review = KeyMap(title: review.title, bindings: review.bindings + [ConsoleKeys.reveal()]) }
        // Rows are selected only to approve them together.
        let list = ConsoleKeys.list(selects: !identity.readOnly, selectionRefusal: identity.reviewRefusal)
        return [KeyMap(title: "Lists", bindings: list), review]
    }

    var legend: [HelpSection] { [ReviewPresentation.whyLegend] }

    mutating func perform(_ action: ConsoleAction, now: UnixMillis) -> ScreenStep {
        // The "changed in the EHR" view takes only its own choices; the list stays put.
        if case .changed = mode, ![.approve, .correct, .back].contains(action) { return .none }
        if let step = move(for: action) { return step }
        switch action {
        case .select: table.toggleMark()
        case .selectAll: table.toggleAll()
        case .open: return openDetails()
        case .back: return backOut()
        case .filter: mode = .filtering(CommandPrompt.filter())
        case .toggleDecided: return toggleDecided()
        case .approve: return approveSelected(now: now)
        case .undo: return undoLastApproval(now: now)
        case .approveSelected: return confirmBulkApprove()
        case .correct: return startCorrection()
        case .reveal:
            guard !context.identity.seesPatientDetails, case .details(_, let id) = mode, revealed != id,
                  let item = actedOn else { return .none }
            return .work(.review(.reveal(bookingId: id, callId: item.booking.callId)))
        default: break
        }
        return .none
    }

    // MARK: State

    enum Mode {
        case list
        case details(DetailPane, bookingId: String)
        case filtering(CommandPrompt)
        case confirmingBulk(ConfirmDialog, items: [ReviewItem])
        case correcting(CorrectionForm, item: ReviewItem)
        /// After a 412: the appointment as the agent booked it beside how it is now.
        case changed(ChangedAppointment, item: ReviewItem)
    }

    let context: ConsoleContext
    var keyMaps: [KeyMap<ConsoleAction>]
    var table = Table<ReviewItem, String>(columns: ReviewPresentation.columns, id: \.id)
    private(set) var filter: ReviewFilter
    private(set) var mode: Mode = .list
    /// The last approvals made here (one, or a bulk approve), for `u` within the undo time.
    private var lastApproval: (items: [ReviewItem], at: UnixMillis)?
    /// The header's backlog, once the first read is back (before that it says nothing,
    /// rather than "0 undecided").
    private var backlog: ReviewBacklog?
    /// Counting a large queue is a scan (70 ms at 1.6M bookings): reads count it at most
    /// every 5 s; a queue under `alwaysCount` is counted with every read.
    private var counts = CountSchedule(everyMillis: 5_000)
    private static let alwaysCount = 50_000
    private var reads = ReadSchedule()
    /// Until the first rows are in: the first read brings rows alone (the header's counts
    /// and the list's total come with the read right after it), so the first frame does
    /// not wait for counting millions of bookings.
    private var firstRows = true
    private var corrections: [String: CorrectionProgress] = [:]
    private var pitfalls: [String: [PitfallFinding]] = [:]
    /// The practice's providers by name, once the EHR has answered (asked at start, and
    /// again when a correction form opens without them).
    private var providers: ProviderDirectory?
    private var askingForProviders = false
    /// A booking to select when the next read is back (after undo, or a later booking).
    private var revealing: String?
    /// The booking whose patient details a viewer chose to see (cleared on leaving it).
    private(set) var revealed: String?
    /// A write under way, by its token: "waiting for the agent's lock…" after a moment.
    private(set) var writing: WriteWait?
    private let time = TimeText()

    init(context: ConsoleContext) {
        self.context = context
        keyMaps = Self.keyMaps(identity: context.identity)
        filter = ReviewFilter(bookedSince: context.clock.window.startsAt, searchesPatientNames: context.identity.seesPatientDetails)
        table.showsPosition = false  // the console's status line shows it
    }

    func pageWork(_ need: TableNeed<ReviewItem>, limit: Int) -> ConsoleWork { .review(.page(filter, need, limit: limit)) }

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
        case .details: [.back, .approve, .undo, .correct, .reveal]
        case .changed: [.back, .approve, .correct]
        default: nil
        }
    }

    // MARK: Data

    /// One read of everything on screen: rows around the selection, the header's
    /// figures, correction progress and the open details, in one transaction.
    mutating func refresh(now: UnixMillis) -> ScreenStep {
        guard reads.start() else { return .none }
        let small = (table.total ?? 0) <= Self.alwaysCount && table.hasRows
        let count = filter.text == nil && !firstRows && (small || counts.start(force: !table.hasRows, now: now))
        var detailsId: String?
        if case .details(_, let id) = mode { detailsId = id }
        return .work(.review(.snapshot(ReviewRead(filter: filter, anchor: table.anchor, follows: table.selectedID != nil,
                                                  chunk: table.chunk, counts: count, backlog: !firstRows,
                                                  details: detailsId, reveal: revealing, windowStart: context.clock.window.startsAt))))
    }

    /// Once a second: ages and OVERDUE move in `render`; a coalesced recount may be due.
    mutating func tick(now: UnixMillis) -> ScreenStep {
        counts.due ? refresh(now: now) : .none
    }

    var tickDue: UnixMillis? { filter.text == nil ? counts.dueAt : nil }

    mutating func update(_ message: ReviewMessage, now: UnixMillis) -> ScreenStep {
        switch message {
        case .snapshot(let result):
            var step = ScreenStep()
            if reads.finished() { step.add(refresh(now: now)) }
            guard case .success(let snapshot) = result else {
                if case .failure(let failure) = result { readFailure = failure.text }
                return step
            }
            readFailure = nil
            if snapshot.read.counts { _ = counts.finished(now: now) }
            // A read for another filter than the one on now is already stale.
            guard snapshot.read.filter == filter,
                  !table.isOutrun(by: snapshot.window, readAround: snapshot.read.anchor.map(table.id)) else { return step.and(refresh(now: now)) }
            if let id = snapshot.read.reveal, revealing == id {
                revealing = nil
                table.reveal(snapshot.window, select: id)
            } else {
                table.apply(snapshot.window)
            }
            if let read = snapshot.backlog { backlog = read }
            if firstRows {
                firstRows = false
                step.add(refresh(now: now))  // the counts and the header's figures, at once
            }
            corrections = snapshot.corrections
            pitfalls = snapshot.pitfalls
            if case .details(var pane, let id) = mode, let details = snapshot.details, details.item.id == id {
                let fresh = ReviewDetails.pane(for: details.item, call: details.call, presentation: presentation(now: now, details: id))
                pane.replaceItems(with: fresh)
                mode = .details(pane, bookingId: id)
            }
            return step
        case .page(let pageFilter, let result):
            return extend(result, current: pageFilter == filter, cannotRead: "Cannot read the review queue")
        case .acted(let result):
            return folded(result, now: now)
        case .correctionChecked(let item, let later, let refused):
            return correctionChecked(item, later: later, refused: refused)
        case .slotsFound(let bookingId, let providerRef, let result):
            guard case .correcting(var form, let item) = mode, form.bookingId == bookingId else { return .none }
            form.slotsArrived(result, providerRef: providerRef, presentation: presentation(now: now))
            mode = .correcting(form, item: item)
            return .none
        case .appointmentRead(let bookingId, .success(let current)):
            guard case .list = mode, let item = table.selectedRow, item.id == bookingId else { return .none }
            mode = .changed(ChangedAppointment(item: item, current: current, presentation: presentation(now: now)), item: item)
            return .none
        case .appointmentRead(_, .failure(let failure)):
            return .error("Could not read the appointment from the EHR: \(failure.text)")
        case .revealed(let id, let failure):
            if let failure { return .error("Patient details not shown: the audit row could not be written (\(failure.text)).") }
            guard case .details(_, id) = mode else { return .none }
            revealed = id
            // The pane is drawn anew, unmasked, with the read the reveal asks for (the call's
            // details come with it).
            return ScreenStep(say: [("Showing booking \(id)'s patient details; the audit records that you looked.", .info)]).and(refresh(now: now))
        case .lockWait(let token):
            guard writing?.token == token else { return .none }
            writing?.waiting = true
            return .none
        }
    }

    /// The last read's failure, shown instead of rows.
    private var readFailure: String?

    // MARK: Handlers

    /// Keys while a dialog, form or filter line has the keyboard.
    mutating func handleCaptured(_ key: Key, now: UnixMillis) -> ScreenStep {
        switch mode {
        case .filtering(var prompt):
            let step = prompt.liveFilter(key)
            if !step.open, step.text == nil { return applyFilter("", now: now).and(closeFilter()) }
            mode = step.open ? .filtering(prompt) : .list
            if let text = step.text { return applyFilter(text, now: now) }
        case .confirmingBulk(var dialog, let items):
            switch dialog.handle(key) {
            case .chosen(let index) where index == 0:
                mode = .list
                return approve(items)
            case .chosen, .cancelled:
                mode = .list
                return .info("Nothing approved.")
            case .pending:
                mode = .confirmingBulk(dialog, items: items)
            }
        case .correcting(var form, let item):
            let outcome = form.handle(key)
            let search = searchSlots(&form, now: now)
            mode = .correcting(form, item: item)
            switch outcome {
            case .submitted: return submitCorrection(form, item: item)
            case .cancelled: mode = .list
            case .editing: return search
            }
        case .list, .details, .changed:
            break
        }
        return .none
    }

    private mutating func closeFilter() -> ScreenStep {
        mode = .list
        return .none
    }

    /// Keys the details view scrolls with before the key map sees them.
    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane, let id) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane, bookingId: id)
        return true
    }

    /// `Esc` while a write waits for the agent's lock gives up on it.
    var isWaitingForLock: Bool { writing?.waiting == true }

    private mutating func backOut() -> ScreenStep {
        switch mode {
        case .details, .changed:
            mode = .list
            revealed = nil
        default:
            if !table.marked.isEmpty {
                table.marked.removeAll()
            } else if filter.text != nil {
                return applyFilter("", now: context.now())
            }
        }
        return .none
    }

    private mutating func applyFilter(_ text: String, now: UnixMillis) -> ScreenStep {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != filter.text else { return .none }
        filter.text = wanted
        filter.providerRefs = wanted.flatMap { providers?.refs(named: $0) } ?? []
        return reread(now: now)
    }

    /// What is read changed (a filter, decided shown or not): read anew from the top.
    private mutating func reread(now: UnixMillis) -> ScreenStep {
        table = Table(columns: ReviewPresentation.columns, id: \.id)
        table.showsPosition = false
        table.viewportHeight = viewport
        return refresh(now: now)
    }

    private var viewport = 20

    private mutating func toggleDecided() -> ScreenStep {
        filter.undecidedOnly.toggle()
        return reread(now: context.now()).and(.info(filter.undecidedOnly ? "Showing undecided bookings only." : "Showing all bookings."))
    }

    private mutating func openDetails() -> ScreenStep {
        guard let item = table.selectedRow else { return .none }
        revealed = nil  // details open masked, however they were left last time
        mode = .details(ReviewDetails.pane(for: item, call: nil, presentation: presentation(now: context.now(), details: item.id)), bookingId: item.id)
        return refresh(now: context.now())
    }

    /// The booking `a` and `c` act on: the one whose details are open, else the selected row.
    private var actedOn: ReviewItem? {
        if case .details(_, let id) = mode, let item = table.window.first(where: { $0.id == id }) { return item }
        return table.selectedRow
    }

    /// A write for the runner, with the timer that says so if it waits on the agent's lock.
    private mutating func write(_ work: ReviewWork) -> ScreenStep {
        let wait = WriteWait(token: (writing?.token ?? 0) + 1)
        writing = wait
        return ScreenStep(work: [.review(work)], later: [(WriteWait.patience, .review(.lockWait(wait.token)))])
    }

    private mutating func approveSelected(now: UnixMillis) -> ScreenStep {
        if case .changed(let changed, let item) = mode { return decideAgain(changed, item: item, .keepEHR) }
        guard let item = actedOn else { return .none }
        if let decision = item.decision { return .error(ReviewDetails.alreadyDecided(decision, booking: named(item), time: time)) }
        if case .details = mode { mode = .list }
        // Approving what has not reached the EHR yet asks first: the approval would vouch
        // for an appointment the EHR may never get.
        if pitfalls[item.id]?.contains(where: { $0.flag == .notInEHRYet }) == true {
            let dialog = ConfirmDialog(title: "Not in the EHR yet",
                                       message: "\(named(item).prefix(1).uppercased() + named(item).dropFirst()) has not reached the EHR yet "
                                           + "(its write is waiting or failed in the outbox). Approve anyway?",
                                       choices: [.init("Approve", shortcut: .char("y")), .init("Cancel", shortcut: .char("n"))], safeChoice: 1)
            mode = .confirmingBulk(dialog, items: [item])
            return .none
        }
        return approve([item])
    }

    /// From the moment an approval is asked for, the selection no longer follows its row:
    /// a read that comes back before the runner's answer (the database watch is quick)
    /// already selects the booking that took its place, the next undecided one.
    private mutating func approve(_ items: [ReviewItem]) -> ScreenStep {
        if let selected = table.selectedID, items.contains(where: { $0.id == selected }) { table.forgetSelection() }
        return write(.approve(items))
    }

    private mutating func undoLastApproval(now: UnixMillis) -> ScreenStep {
        guard let last = lastApproval, now - last.at <= Int64(context.undoSeconds) * 1000 else {
            lastApproval = nil
            return .info("Nothing to undo: approvals can be undone for \(context.undoSeconds) s.")
        }
        return write(.undo(last.items))
    }

    private mutating func confirmBulkApprove() -> ScreenStep {
        // A snapshot of exactly the selected rows: rows that arrive later are not included.
        let ids = table.marked
        let items = table.window.filter { ids.contains($0.id) && !$0.isDecided }
        guard !ids.isEmpty else {
            return .info("Select bookings with \(keyName(.select)) first.")
        }
        guard !items.isEmpty else { return .info("The selected bookings are already decided.") }
        let dialog = ConfirmDialog(title: "Approve selected",
                                   message: "Approve \(items.count) selected booking\(items.count == 1 ? "" : "s")?",
                                   choices: [.init("Approve \(items.count)", shortcut: .char("y")), .init("Cancel", shortcut: .char("n"))],
                                   safeChoice: 1)
        mode = .confirmingBulk(dialog, items: items)
        return .none
    }

    /// What a decision did: say it, remember approvals for undo, and read again. After
    /// an approval the selection moves on to the booking that took its place (the next
    /// undecided one), not with the approved row into the decided part of the list.
    private mutating func folded(_ acted: ReviewActed, now: UnixMillis) -> ScreenStep {
        writing = nil
        let ids = Set(acted.done.map(\.id))
        switch acted.what {
        case .approved:
            if !acted.done.isEmpty {
                lastApproval = (acted.done, now)
                if let selected = table.selectedID, ids.contains(selected) { table.forgetSelection() }
            }
            table.marked.subtract(ids)
        case .undone:
            lastApproval = nil
            if let first = acted.done.first { revealing = first.id }
        case .corrected:
            if case .correcting(var form, let item) = mode {
                if let problem = acted.formProblem {
                    form.form.message = problem
                    mode = .correcting(form, item: item)
                    return .none
                }
                mode = .list
                if !acted.done.isEmpty { table.forgetSelection() }
            }
        case .decidedAgain:
            mode = .list
        }
        var text = acted.text
        if acted.what == .approved, !acted.done.isEmpty {
            text += " \(keyName(.undo)) undoes for \(context.undoSeconds) s."
        }
        return ScreenStep(say: [(text, acted.isError ? .error : .info)]).and(refresh(now: now))
    }

    private mutating func startCorrection() -> ScreenStep {
        if let refusal = context.identity.reviewRefusal { return .error(refusal) }
        guard context.hasEHR else {
            return .error("Corrections need the EHR, for its free slots: start with --ehr URL, or set [ehr] base_url in the config"
                          + " (see docs/configuration.md). `switchboard demo` has one.")
        }
        if case .changed(let changed, let item) = mode {
            return openCorrectionForm(CorrectionForm(booking: changed.bookingAsItIsNow, slotsAvailable: true,
                                                     presentation: presentation(now: context.now()), against: changed.current), item: item)
        }
        guard let item = actedOn else { return .none }
        if let decision = item.decision, corrections[item.id]?.needsNewDecision != true {
            return .error(ReviewDetails.alreadyDecided(decision, booking: named(item), time: time))
        }
        return .work(.review(.checkCorrection(item)))
    }

    /// The runner's answer to `c`: a later call moved the appointment (correct that
    /// booking instead), the EHR refused this correction (show what changed), or the form.
    private mutating func correctionChecked(_ item: ReviewItem, later: ReviewItem?, refused: Bool) -> ScreenStep {
        switch mode {
        case .list where table.selectedRow?.id == item.id: break
        // Asked from the booking's details: the answer takes their place, as an approval's does.
        case .details(_, let id) where id == item.id: mode = .list
        default: return .none  // the manager moved on meanwhile
        }
        if refused { return rereadAppointment(item) }
        if let later {
            let kind = later.booking.kind == .reschedule ? "moved" : later.booking.kind == .cancel ? "cancelled" : "changed"
            revealing = later.id
            return ScreenStep(say: [("That appointment was \(kind) by a later call (\(time.clock(later.booking.bookedAt))): "
                                     + "correct the later booking; it is now selected.", .error)]).and(refresh(now: context.now()))
        }
        return openCorrectionForm(CorrectionForm(booking: item.booking, slotsAvailable: true, presentation: presentation(now: context.now())),
                                  item: item)
    }

    private mutating func openCorrectionForm(_ form: CorrectionForm, item: ReviewItem) -> ScreenStep {
        var form = form
        let search = searchSlots(&form, now: context.now())
        mode = .correcting(form, item: item)
        return search.and(askForProviders())
    }

    /// The live free-slot search for the provider the form wants, when its picker does
    /// not show theirs yet: from the day before the booked start (or now) on.
    private func searchSlots(_ form: inout CorrectionForm, now: UnixMillis) -> ScreenStep {
        guard context.hasEHR, form.needsSlots, let provider = form.loadSlots() else { return .none }
        return .work(.review(.searchSlots(bookingId: form.bookingId, providerRef: provider, from: max(now, form.booking.startAt - 86_400_000))))
    }

    mutating func providersArrived(_ result: Result<ProviderDirectory, EHRFailure>) -> ScreenStep {
        askingForProviders = false
        guard case .success(let directory) = result else { return .none }  // asked again with the next form
        providers = directory
        // A filter typed before the names were known may now match some.
        if let text = filter.text {
            filter.providerRefs = directory.refs(named: text)
            return reread(now: context.now())
        }
        return .none
    }

    /// Asks the EHR again for the providers a correction form needs, if the console's
    /// question at start found none (and none is under way from here).
    private mutating func askForProviders() -> ScreenStep {
        guard context.hasEHR, providers == nil, !askingForProviders else { return .none }
        askingForProviders = true
        return .work(.providers)
    }

    /// After a 412 nothing is retried blindly: read the appointment as it is now and
    /// show the manager what changed.
    private mutating func rereadAppointment(_ item: ReviewItem) -> ScreenStep {
        ScreenStep(work: [.review(.readAppointment(item))], say: [("Reading the appointment from the EHR…", .info)])
    }

    private mutating func decideAgain(_ changed: ChangedAppointment, item: ReviewItem, _ choice: SecondDecision) -> ScreenStep {
        write(.decideAgain(item, current: changed.current, choice))
    }

    private mutating func submitCorrection(_ form: CorrectionForm, item: ReviewItem) -> ScreenStep {
        guard case .correcting(var current, _) = mode else { return .none }
        switch form.correction() {
        case .success(let correction):
            if let against = form.against { return write(.decideAgain(item, current: against, .reapply(correction))) }
            return write(.correct(correction, item: item))
        case .failure(let problem):
            current.form.message = problem.text
            mode = .correcting(current, item: item)
            return .none
        }
    }

    // MARK: Rendering

    private func named(_ item: ReviewItem) -> String { ReviewDetails.name(of: item, identity: context.identity, time: time) }

    /// With `details`, for that booking's details pane: unmasked if a viewer revealed it.
    private func presentation(now: UnixMillis, details: String? = nil) -> ReviewPresentation {
        let identity = details != nil && details == revealed ? context.identity.revealing : context.identity
        var p = ReviewPresentation(identity: identity, now: now, overdueMillis: context.overdueMillis, time: time)
        p.providers = providers
        p.pitfalls = pitfalls
        p.corrections = corrections.mapValues { "✎ " + $0.shortLabel }
        // The long label quotes the EHR's answer, which can name the patient: not for a viewer.
        let whole = identity.seesPatientDetails
        p.correctionDetails = corrections.mapValues { whole ? $0.label : $0.shortLabel }
        return p
    }

    /// The header figures: window clock, undecided count, oldest age.
    func headerParts(now: UnixMillis) -> [HeaderPart] {
        let window = context.clock.window
        var parts: [HeaderPart] = []
        if window.isOver(at: now) {
            parts.append(HeaderPart("go-live window closed", scope: "header.warning", priority: 2))
        } else {
            parts.append(HeaderPart("window \(formatDuration(millis: window.remainingShown(at: now))) left", scope: "header.clock", priority: 2))
        }
        guard let backlog else { return parts + [HeaderPart("reading…", priority: 1)] }
        let overdue = backlog.oldestBookedAt.map { oldest in
            ClockWatch.changes(at: oldest.addingClamped(context.overdueMillis).addingClamped(1))
            return millisBetween(oldest, now) > context.overdueMillis
        } ?? false
        parts.append(HeaderPart("\(backlog.undecided) undecided", scope: overdue ? "header.warning" : "header", priority: 1))
        if let oldest = backlog.oldestBookedAt {
            parts.append(HeaderPart("oldest \(ReviewPresentation.age(ClockWatch.elapsed(since: oldest, now: now)))" + (overdue ? " OVERDUE" : ""),
                                    scope: overdue ? "header.warning" : "header", priority: 3))
        }
        return parts
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme, now: UnixMillis) {
        var p = presentation(now: now)
        p.whyInLetters = table.columnWidths(in: rect.width)[ReviewPresentation.whyColumn] < ReviewPresentation.whyWordsWidth
        switch mode {
        case .details(var pane, _):
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
        case .changed(var changed, _):
            changed.pane.viewportHeight = rect.height
            changed.pane.render(into: &grid, rect: rect, theme: theme)
        default:
            renderTable(into: &grid, rect: rect, theme: theme, cells: p.cells, scope: p.scope, failure: readFailure,
                        cannotRead: "Cannot read the review queue",
                        empty: filter.text != nil ? "No booking matches the filter." : "No flagged bookings in the go-live window yet.")
        }
        switch mode {
        case .confirmingBulk(let dialog, _): dialog.render(into: &grid, rect: rect, theme: theme)
        case .correcting(let form, _): form.form.render(into: &grid, rect: rect, theme: theme)
        default: break
        }
    }

    /// The footer while a dialog or form has the keyboard (its keys are its own, not the key map's).
    var captureHints: String? {
        switch mode {
        case .correcting(let form, _) where form.form.list(of: "slot") != nil && form.form.fields.indices.contains(form.form.focus)
                                            && form.form.fields[form.form.focus].id == "slot":
            "tab field  j/k slot  ]/[ day  type 14/tue to jump  enter submit  esc cancel"
        case .correcting: "tab next field  ←/→ choose  type to edit  enter submit  esc cancel"
        case .confirmingBulk: "enter choose focused  ←/→ move  y confirm  n/esc cancel"
        case .filtering: "type to filter  enter keep  esc clear"
        default: nil
        }
    }

    /// What narrows the list, for the status line.
    var statusText: String {
        var text = ""
        if let writing, writing.waiting { text += "waiting for the agent's lock… (esc gives up)   " }
        if let filter = filter.text { text += "filter: \(filter)   " }
        if filter.undecidedOnly { text += "undecided only   " }
        if !table.marked.isEmpty { text += "\(table.marked.count) selected (\(keyName(.approveSelected)) approves them)   " }
        return text
    }

    var positionText: String? { table.positionText }

    /// The bottom line's prompt while filtering.
    var filterPrompt: CommandPrompt? {
        if case .filtering(let prompt) = mode { return prompt }
        return nil
    }

    mutating func resize(body: Size) {
        viewport = max(1, body.height - 1)
        table.viewportHeight = viewport
    }

    /// The write under way was given up (Esc while it waited for the lock).
    mutating func gaveUpWaiting() { writing = nil }
}

/// Results of background work the Review screen started.
enum ReviewMessage: Sendable {
    case snapshot(Result<ReviewSnapshot, WriteFailure>)
    case page(ReviewFilter, Result<TablePage<ReviewItem>, WriteFailure>)
    case acted(ReviewActed)
    case correctionChecked(ReviewItem, later: ReviewItem?, refused: Bool)
    case slotsFound(bookingId: String, providerRef: String, Result<[FreeSlot], EHRFailure>)
    case appointmentRead(bookingId: String, Result<AppointmentNow, EHRFailure>)
    /// The audit row of a viewer's `P` is written (or not: then nothing is shown).
    case revealed(bookingId: String, WriteFailure?)
    /// A write is still waiting after a moment: say so.
    case lockWait(Int)
}
