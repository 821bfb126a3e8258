import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The Calls list as a table's paged source: calls in progress (oldest first), then
/// calls that ended (newest first), each section keyset-paged from the store. A row
/// remembers the section it was read in, so a call that ended since still says where
/// the cursor was. Only the operations runner reads through it.
struct CallsSource: PagedSource, Sendable {
    let store: AuditStore
    let filter: CallFilter

    func rows(after row: Call?, limit: Int) throws -> [Call] {
        if let row, !row.inProgress { return try store.calls(.ended, matching: filter, after: CallCursor(row), limit: limit) }
        let live = try store.calls(.inProgress, matching: filter, after: row.map(CallCursor.init), limit: limit)
        guard live.count < limit else { return live }
        return live + (try store.calls(.ended, matching: filter, after: nil, limit: limit - live.count))
    }

    func rows(before row: Call?, limit: Int) throws -> [Call] {
        if let row, row.inProgress {
            return try store.calls(.inProgress, matching: filter, after: CallCursor(row), backwards: true, limit: limit).reversed()
        }
        let ended = try store.calls(.ended, matching: filter, after: row.map(CallCursor.init), backwards: true, limit: limit).reversed()
        guard ended.count < limit else { return Array(ended) }
        let live = try store.calls(.inProgress, matching: filter, after: nil, backwards: true, limit: limit - ended.count)
        return live.reversed() + ended
    }
}

/// What the Calls screen asks the operations runner to do.
enum CallsWork: Sendable {
    case snapshot(CallsRead)
    case page(CallFilter, TableNeed<Call>, limit: Int)
    /// A viewer shows the patient details of one call (its audit row first).
    case reveal(callId: String)
}

struct CallsRead: Sendable {
    var filter: CallFilter
    var anchor: Call?
    var chunk: Int
    /// The call whose details are open.
    var details: String?
    /// Today's figures too (a count over the day, so at most every few seconds).
    var figuresSince: UnixMillis?
}

struct CallsSnapshot: Sendable {
    var read: CallsRead
    var window: TableWindow<Call>
    /// Audit rows per call in view.
    var steps: [String: Int]
    var details: CallRecord?
    /// Calls in progress, read with the rows.
    var inProgress: Int
    var figures: CallFigures?
}

extension OperationsRunner {
    func perform(_ work: CallsWork) async -> ConsoleMessage? {
        switch work {
        case .reveal(let id):
            return .calls(.revealed(callId: id, await recordReveal(screen: "calls", fields: ["call_id": id], callId: id)))
        case .snapshot(let read):
            return .calls(.snapshot(await self.read {
                try audit.snapshot {
                    let window = try CallsSource(store: audit, filter: read.filter).window(around: read.anchor, chunk: read.chunk)
                    return CallsSnapshot(read: read, window: window, steps: try audit.stepCounts(ofCalls: window.rows.map(\.callId)),
                                         details: try read.details.map { try CallRecord.read(audit, callId: $0) },
                                         inProgress: try audit.callsInProgressCount(),
                                         figures: try read.figuresSince.map { try audit.callFigures(since: $0) })
                }
            }))
        case .page(let filter, let need, let limit):
            return .calls(.page(filter, await self.read {
                let page = try CallsSource(store: audit, filter: filter).page(for: need, limit: limit)
                return (page, try audit.stepCounts(ofCalls: page.rows.map(\.callId)))
            }))
        }
    }
}
