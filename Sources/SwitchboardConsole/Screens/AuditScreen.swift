import SwitchboardCore
import SwitchboardOperations
import SwitchboardStore
import TerminalUI

/// The Audit screen: the hash chain newest first, filtered by `key:value` tokens, every
/// field of a row on Enter, and `v` to walk the whole chain in the background.
struct AuditScreen: TableScreen {
    // MARK: Keys

    static func keyMaps(identity: OperatorIdentity) -> [KeyMap<ConsoleAction>] {
        let list = ConsoleKeys.list(selects: false, help: [
            .open: "Open the row: every field, the detail JSON, prev_hash and hash",
            .filter: "Filter by tokens: action:appointment.create actor:operator:maria outcome:8 call:c-123",
            .back: "Back out: close the row, stop a verification, clear the filter",
        ])
        let reveal = identity.seesPatientDetails ? [] : [ConsoleKeys.reveal()]
        return [KeyMap(title: "Audit", bindings: list + ConsoleKeys.audit().bindings + reveal)]
    }

    mutating func perform(_ action: ConsoleAction, now: UnixMillis) -> ScreenStep {
        if let step = move(for: action) { return step }
        switch action {
        case .open: openDetails()
        case .back: return backOut(now: now)
        case .filter: mode = .filtering(CommandPrompt.filter(history: filterHistory))
        case .verifyChain: return toggleVerification()
        case .reveal:
            guard !context.identity.seesPatientDetails, case .details = mode, let row = detailsRow, let seq = row.seq,
                  revealed != seq else { return .none }
            return .work(.audit(.reveal(seq: seq, callId: row.callId)))
        default: break
        }
        return .none
    }

    // MARK: State

    enum Mode {
        case list
        case details(DetailPane)
        case filtering(CommandPrompt)
    }

    /// Where a walk of the chain stands.
    enum Verification: Equatable {
        case running(run: Int, checked: Int64, total: Int64)
        case intact(throughSeq: Int64)
        case broken(seq: Int64, reason: String)
        case failed(String)
    }

    let context: ConsoleContext
    var keyMaps: [KeyMap<ConsoleAction>]
    var table = Table<AuditEvent, Int64>(columns: AuditPresentation.columns, id: { $0.seq ?? 0 })
    private(set) var mode: Mode = .list
    /// The row open in details, and the seq whose patient details a viewer chose to see.
    private var detailsRow: AuditEvent?
    private(set) var revealed: Int64?
    private let presentation: AuditPresentation
    private(set) var filter = AuditFilter()
    private var filterText: String?
    private var filterHistory: [String] = []
    private(set) var verification: Verification?
    /// Numbers each walk, so the chunks of a cancelled one are recognised and dropped.
    private var runs = 0
    private var reads = ReadSchedule()
    private var readFailure: String?
    private var viewport = 20
    /// Rows per background chunk: a few tenths of a second of hashing, so a cancel or a
    /// key never waits long for the chunk in flight.
    static let chunkRows = 50_000

    init(context: ConsoleContext) {
        self.context = context
        presentation = AuditPresentation(time: TimeText(), identity: context.identity)
        keyMaps = Self.keyMaps(identity: context.identity)
        table.showsPosition = false
    }

    func pageWork(_ need: TableNeed<AuditEvent>, limit: Int) -> ConsoleWork { .audit(.page(filter, need, limit: limit)) }

    var capturesKeys: Bool {
        if case .filtering = mode { return true }
        return false
    }

    var footerActions: Set<ConsoleAction>? {
        if case .details = mode { return [.back, .verifyChain, .reveal] }
        return nil
    }

    // MARK: Data

    /// New rows arrive on top: on the newest row the list follows them, as `tail -f`
    /// does; anywhere else the selection stays on its row.
    mutating func refresh(now: UnixMillis) -> ScreenStep {
        guard reads.start() else { return .none }
        return .work(.audit(.snapshot(filter, anchor: table.isOnFirstRow ? nil : table.anchor, chunk: table.chunk)))
    }

    mutating func tick(now: UnixMillis) -> ScreenStep { .none }

    mutating func update(_ message: AuditMessage, now: UnixMillis) -> ScreenStep {
        switch message {
        case .snapshot(let readFilter, let anchor, let result):
            let step = reads.finished() ? refresh(now: now) : ScreenStep()
            guard readFilter == filter else { return step.and(refresh(now: now)) }
            switch result {
            case .success(let window) where table.isOutrun(by: window, readAround: anchor.map(table.id)):
                return step.and(refresh(now: now))
            case .success(let window):
                readFailure = nil
                if table.isOnFirstRow { table.forgetSelection() }
                table.apply(window)
            case .failure(let failure): readFailure = failure.text
            }
            return step
        case .page(let pageFilter, let result):
            return extend(result, current: pageFilter == filter, cannotRead: "Cannot read the audit chain")
        case .chunkVerified(let run, let fromSeq, let result):
            guard case .running(run, let checked, let total)? = verification else { return .none }  // cancelled
            switch result {
            case .failure(let failure):
                verification = .failed(failure.text)
                return .error("Chain verification stopped: \(failure.text)")
            case .success(let (chunk, _)) where !chunk.isIntact:
                let seq = chunk.firstBrokenSeq ?? fromSeq
                verification = .broken(seq: seq, reason: chunk.reason ?? "")
                return .error("Audit chain BROKEN at seq \(seq): \(chunk.reason ?? "")")
            case .success(let (chunk, _)) where chunk.checked < Self.chunkRows:
                let through = fromSeq + Int64(chunk.checked) - 1
                verification = .intact(throughSeq: through)
                return .info("Audit chain intact through seq \(through).")
            case .success(let (chunk, newest)):
                let next = fromSeq + Int64(chunk.checked)
                verification = .running(run: run, checked: checked + Int64(chunk.checked), total: max(total, newest, next))
                return .work(.audit(.verify(run: run, from: next, rows: Self.chunkRows)))
            }
        case .revealed(let seq, let failure):
            if let failure { return .error("Patient details not shown: the audit row could not be written (\(failure.text)).") }
            guard case .details = mode, let row = detailsRow, row.seq == seq else { return .none }
            revealed = seq
            mode = .details(presentation.pane(row, revealed: true))
            return .info("Showing row \(seq)'s patient details; the audit records that you looked.")
        }
    }

    /// `v`: starts a walk of the whole chain, or stops the one under way.
    private mutating func toggleVerification() -> ScreenStep {
        if case .running? = verification { return cancelVerification() }
        runs += 1
        verification = .running(run: runs, checked: 0, total: table.window.first?.seq ?? 0)
        return .work(.audit(.verify(run: runs, from: 1, rows: Self.chunkRows)))
    }

    private mutating func cancelVerification() -> ScreenStep {
        guard case .running(_, let checked, _)? = verification else { return .none }
        verification = nil
        return .info("Chain verification cancelled after \(AuditPresentation.count(checked)) rows.")
    }

    // MARK: Handlers

    /// The filter applies on Enter: a half-typed token is not yet a mistake. Esc closes
    /// the line and clears the filter.
    mutating func handleCaptured(_ key: Key, now: UnixMillis) -> ScreenStep {
        guard case .filtering(var prompt) = mode else { return .none }
        switch prompt.handle(key) {
        case .submitted(let text):
            filterHistory = prompt.history
            mode = .list
            return applyFilter(text, now: now)
        case .cancelled:
            mode = .list
            return applyFilter("", now: now)
        case .editing:
            mode = .filtering(prompt)
        }
        return .none
    }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane)
        return true
    }

    private mutating func openDetails() {
        guard let row = table.selectedRow else { return }
        detailsRow = row
        revealed = nil
        mode = .details(presentation.pane(row))
    }

    private mutating func backOut(now: UnixMillis) -> ScreenStep {
        if case .details = mode {
            mode = .list
        } else if case .running? = verification {
            return cancelVerification()
        } else if filterText != nil {
            return applyFilter("", now: now)
        }
        return .none
    }

    private mutating func applyFilter(_ text: String, now: UnixMillis) -> ScreenStep {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let (parsed, notUnderstood) = AuditFilter.parse(trimmed)
        guard notUnderstood.isEmpty else {
            let tokens = notUnderstood.map { "“\($0)”" }.joined(separator: ", ")
            return .error("Filter not applied: \(tokens) not understood. Use action:, actor:, call:, outcome:0|4|8|12.")
        }
        let wanted = trimmed.isEmpty ? nil : trimmed
        guard wanted != filterText else { return .none }
        filterText = wanted
        filter = parsed
        table = Table(columns: AuditPresentation.columns, id: { $0.seq ?? 0 })
        table.showsPosition = false
        table.viewportHeight = viewport
        return refresh(now: now)
    }

    // MARK: Rendering

    func headerParts(now: UnixMillis) -> [HeaderPart] {
        switch verification {
        case nil: return [HeaderPart("\(keyName(.verifyChain)) verifies the chain", priority: 2)]
        case .running(_, let checked, let total)?:
            return [HeaderPart("verifying… \(AuditPresentation.count(checked)) of \(AuditPresentation.count(total))", scope: "header.clock")]
        case .intact(let seq)?: return [HeaderPart("chain intact through seq \(seq)", scope: "status.ok")]
        case .broken(let seq, let reason)?: return [HeaderPart("BROKEN at seq \(seq): \(reason)", scope: "status.error", priority: 0)]
        case .failed(let why)?: return [HeaderPart("verification failed: \(why)", scope: "status.error", priority: 0)]
        }
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme, now: UnixMillis) {
        if case .details(var pane) = mode {
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
            return
        }
        renderTable(into: &grid, rect: rect, theme: theme, cells: presentation.cells, scope: presentation.scope, failure: readFailure,
                    cannotRead: "Cannot read the audit chain",
                    empty: filterText != nil ? "No audit row matches the filter." : "The audit chain is empty.")
    }

    var captureHints: String? {
        if case .filtering = mode { return "action:… actor:… call:… outcome:8  enter apply  esc clear" }
        return nil
    }

    var statusText: String { filterText.map { "filter: \($0)   " } ?? "" }

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

/// Results of background work the Audit screen started.
enum AuditMessage: Sendable {
    /// The rows read for a filter, around the row selected when the read started.
    case snapshot(AuditFilter, anchor: AuditEvent?, Result<TableWindow<AuditEvent>, WriteFailure>)
    case page(AuditFilter, Result<TablePage<AuditEvent>, WriteFailure>)
    /// One chunk of a chain walk, from `fromSeq`, with the chain's newest seq.
    case chunkVerified(run: Int, fromSeq: Int64, Result<(AuditChain.Verification, Int64), WriteFailure>)
    /// The reveal's audit row was written (nil) or not.
    case revealed(seq: Int64, WriteFailure?)
}
