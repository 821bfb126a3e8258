import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The Calls list as a table's paged source: calls in progress (oldest first), then
/// calls that ended (newest first), each section keyset-paged from the store. A row
/// remembers the section it was read in, so a call that ended since still says where
/// the cursor was.
final class CallsSource: PagedSource, StoreBackedSource {
    let store: AuditStore
    var filter = CallFilter()
    /// The last error, shown by the screen instead of crashing or freezing.
    var failure: String?

    init(store: AuditStore) { self.store = store }

    func id(of row: Call) -> String { row.callId }

    func rows(after row: Call?, limit: Int) -> [Call] {
        attempt {
            if let row, !row.inProgress { return try store.calls(.ended, matching: filter, after: CallCursor(row), limit: limit) }
            let live = try store.calls(.inProgress, matching: filter, after: row.map(CallCursor.init), limit: limit)
            guard live.count < limit else { return live }
            return live + (try store.calls(.ended, matching: filter, after: nil, limit: limit - live.count))
        } ?? []
    }

    func rows(before row: Call?, limit: Int) -> [Call] {
        attempt {
            if let row, row.inProgress {
                return try store.calls(.inProgress, matching: filter, after: CallCursor(row), backwards: true, limit: limit).reversed()
            }
            let ended = try store.calls(.ended, matching: filter, after: row.map(CallCursor.init), backwards: true, limit: limit).reversed()
            guard ended.count < limit else { return Array(ended) }
            let live = try store.calls(.inProgress, matching: filter, after: nil, backwards: true, limit: limit - ended.count)
            return live.reversed() + ended
        } ?? []
    }

}
