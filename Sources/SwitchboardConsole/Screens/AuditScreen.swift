import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The Audit screen: the hash chain newest first, filtered by `key:value` tokens, every
/// field of a row on Enter, and `v` to walk the whole chain in the background.
struct AuditScreen: TableScreen {
    // MARK: Keys

    static func keyMaps() -> [KeyMap<ConsoleAction>] {
        let list = ConsoleKeys.list(selects: false, help: [
            .open: "Open the row: every field, the detail JSON, prev_hash and hash",
            .filter: "Filter by tokens: action:appointment.create actor:operator:maria outcome:8 call:c-123",
            .back: "Back out: close the row, stop a verification, clear the filter",
        ])
        return [KeyMap(title: "Audit", bindings: list + ConsoleKeys.audit().bindings)]
    }

    mutating func perform(_ action: ConsoleAction) -> Reaction<ConsoleMessage> {
        if move(for: action) { return .redraw }
        switch action {
        case .open: openDetails()
        case .back: backOut()
        case .filter: mode = .filtering(CommandPrompt.filter(history: filterHistory))
        case .verifyChain: return Reaction.redraw.and(toggleVerification())
        default: return .none
        }
        return .redraw
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
    var keyMaps: [KeyMap<ConsoleAction>] = Self.keyMaps()
    var table: Table<AuditSource>
    private(set) var mode: Mode = .list
    var notices: [(text: String, kind: Toasts.Kind)] = []
    private let presentation = AuditPresentation(time: TimeText())
    private var filterText: String?
    private var filterHistory: [String] = []
    private(set) var verification: Verification?
    /// Numbers each walk, so the chunks of a cancelled one are recognised and dropped.
    private var runs = 0
    /// Rows per background chunk: a few tenths of a second of hashing, so a cancel or a
    /// key never waits long for the chunk in flight.
    static let chunkRows = 50_000

    init(context: ConsoleContext) {
        self.context = context
        table = Table(source: AuditSource(store: context.audit), columns: AuditPresentation.columns, cells: { _ in [] })
        table.showsPosition = false
        let presentation = presentation
        table.cells = { presentation.cells($0) }
        table.rowScope = { presentation.scope($0) }
    }

    var capturesKeys: Bool {
        if case .filtering = mode { return true }
        return false
    }

    var footerActions: Set<ConsoleAction>? {
        if case .details = mode { return [.back, .verifyChain] }
        return nil
    }

    // MARK: Data

    /// New rows arrive on top; the selection stays on its row.
    /// New rows arrive on top: on the newest row the list follows them; anywhere else the
    /// selection stays on its row.
    mutating func refresh() -> Reaction<ConsoleMessage> {
        let following = table.isOnFirstRow
        table.reload()
        if following { table.move(.first) }
        return .none
    }

    mutating func tick() -> Reaction<ConsoleMessage> { .none }

    mutating func update(_ message: AuditMessage) -> Reaction<ConsoleMessage> {
        switch message {
        case .chunkVerified(let run, let fromSeq, let result):
            guard case .running(run, let checked, let total)? = verification else { return .none }  // cancelled
            switch result {
            case .failure(let failure):
                verification = .failed(failure.text)
                notices.append(("Chain verification stopped: \(failure.text)", .error))
            case .success(let chunk) where !chunk.isIntact:
                let seq = chunk.firstBrokenSeq ?? fromSeq
                verification = .broken(seq: seq, reason: chunk.reason ?? "")
                notices.append(("Audit chain BROKEN at seq \(seq): \(chunk.reason ?? "")", .error))
            case .success(let chunk) where chunk.checked < Self.chunkRows:
                let through = fromSeq + Int64(chunk.checked) - 1
                verification = .intact(throughSeq: through)
                notices.append(("Audit chain intact through seq \(through).", .info))
            case .success(let chunk):
                let next = fromSeq + Int64(chunk.checked)
                verification = .running(run: run, checked: checked + Int64(chunk.checked), total: max(total, next))
                return verify(run: run, from: next)
            }
            return .redraw
        }
    }

    /// `v`: starts a walk of the whole chain, or stops the one under way.
    private mutating func toggleVerification() -> Reaction<ConsoleMessage> {
        if case .running? = verification {
            cancelVerification()
            return .none
        }
        runs += 1
        let total = (try? context.audit.auditEvents(limit: 1).first?.seq ?? 0) ?? 0
        verification = .running(run: runs, checked: 0, total: total)
        return verify(run: runs, from: 1)
    }

    private mutating func cancelVerification() {
        guard case .running(_, let checked, _)? = verification else { return }
        verification = nil
        notices.append(("Chain verification cancelled after \(AuditPresentation.count(checked)) rows.", .info))
    }

    /// One chunk off the UI thread; its answer starts the next.
    private func verify(run: Int, from seq: Int64) -> Reaction<ConsoleMessage> {
        let store = context.audit
        let anchors = context.chainCheck ?? AuditVerifier(audit: store)
        return .run {
            do {
                var chunk = try store.verifyChain(fromSeq: seq, limit: Self.chunkRows)
                // The last chunk: the signed checkpoints and the heads seen before, as `switchboard audit verify` does.
                if chunk.isIntact && chunk.checked < Self.chunkRows {
                    let report = try anchors.checkAnchors(after: chunk)
                    if !report.intact { (chunk.firstBrokenSeq, chunk.reason) = (report.firstBadSeq, report.problem) }
                }
                return .audit(.chunkVerified(run: run, fromSeq: seq, .success(chunk)))
            } catch {
                return .audit(.chunkVerified(run: run, fromSeq: seq, .failure(AuditFailure(text: "\(error)"))))
            }
        }
    }

    // MARK: Handlers

    /// The filter applies on Enter: a half-typed token is not yet a mistake.
    mutating func handleCaptured(_ key: Key) -> Reaction<ConsoleMessage> {
        guard case .filtering(var prompt) = mode else { return .none }
        switch prompt.handle(key) {
        case .submitted(let text):
            filterHistory = prompt.history
            mode = .list
            applyFilter(text)
        case .cancelled:
            mode = .list
        case .editing:
            mode = .filtering(prompt)
        }
        return .redraw
    }

    mutating func handleScroll(_ key: Key) -> Bool {
        guard case .details(var pane) = mode, key != .escape, key != .enter else { return false }
        guard pane.handle(key) else { return false }
        mode = .details(pane)
        return true
    }

    private mutating func openDetails() {
        guard let row = table.selectedRow else { return }
        mode = .details(presentation.pane(row))
    }

    private mutating func backOut() {
        if case .details = mode {
            mode = .list
        } else if case .running? = verification {
            cancelVerification()
        } else if filterText != nil {
            applyFilter("")
        }
    }

    private mutating func applyFilter(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let (filter, notUnderstood) = AuditFilter.parse(trimmed)
        guard notUnderstood.isEmpty else {
            let tokens = notUnderstood.map { "“\($0)”" }.joined(separator: ", ")
            notices.append(("Filter not applied: \(tokens) not understood. Use action:, actor:, call:, outcome:0|4|8|12.", .error))
            return
        }
        filterText = trimmed.isEmpty ? nil : trimmed
        table.source.filter = filter
        table.move(.first)
    }

    // MARK: Rendering

    func headerParts(now: UnixMillis) -> [(text: String, scope: String)] {
        switch verification {
        case nil: return [("v verifies the chain", "header")]
        case .running(_, let checked, let total)?:
            return [("verifying… \(AuditPresentation.count(checked)) of \(AuditPresentation.count(total))", "header.clock")]
        case .intact(let seq)?: return [("chain intact through seq \(seq)", "status.ok")]
        case .broken(let seq, let reason)?: return [("BROKEN at seq \(seq): \(reason)", "status.error")]
        case .failed(let why)?: return [("verification failed: \(why)", "status.error")]
        }
    }

    func render(into grid: inout CellGrid, rect: Rect, theme: Theme) {
        if case .details(var pane) = mode {
            pane.viewportHeight = rect.height
            pane.render(into: &grid, rect: rect, theme: theme)
            return
        }
        renderTable(into: &grid, rect: rect, theme: theme, cannotRead: "Cannot read the audit chain",
                    empty: filterText != nil ? "No audit row matches the filter." : "The audit chain is empty.")
    }

    var captureHints: String? {
        if case .filtering = mode { return "action:… actor:… call:… outcome:8  enter apply  esc cancel" }
        return nil
    }

    var statusText: String { filterText.map { "filter: \($0)   " } ?? "" }

    var positionText: String? { nil }

    var filterPrompt: CommandPrompt? {
        if case .filtering(let prompt) = mode { return prompt }
        return nil
    }

}

/// Results of background work the Audit screen started.
public enum AuditMessage: Sendable {
    /// One chunk of a chain walk, from `fromSeq`.
    case chunkVerified(run: Int, fromSeq: Int64, Result<AuditChain.Verification, AuditFailure>)
}

/// A read of the audit chain that failed, in words.
public struct AuditFailure: Error, Sendable, Equatable {
    var text: String
}
