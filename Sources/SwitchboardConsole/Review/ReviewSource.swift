import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The review queue as a table's paged source: keyset pages straight from the store,
/// undecided first, oldest first. Never loads the whole queue.
final class ReviewSource: PagedSource, StoreBackedSource {
    let store: AuditStore
    var filter: ReviewFilter
    /// The list's length, counted off the UI thread (a count is a scan of the index
    /// range: 70 ms at 1.6M bookings, too slow for a key press); nil until known.
    var knownTotal: Int?
    /// Positions cost an index range count, so they are asked only while the list is
    /// short enough to answer within a frame.
    private let positionLimit = 50_000
    /// The last error, shown by the screen instead of crashing or freezing.
    var failure: String?

    init(store: AuditStore, filter: ReviewFilter) {
        self.store = store
        self.filter = filter
    }

    func id(of row: ReviewItem) -> String { row.id }

    func rows(after row: ReviewItem?, limit: Int) -> [ReviewItem] {
        attempt { try store.reviewQueue(filter, after: row?.cursor, limit: limit) } ?? []
    }

    func rows(before row: ReviewItem?, limit: Int) -> [ReviewItem] {
        attempt {
            if let row { return try store.reviewQueue(filter, before: row.cursor, limit: limit) }
            return try store.reviewQueueTail(filter, limit: limit)
        } ?? []
    }

    func count() -> Int? { knownTotal }

    func position(of row: ReviewItem) -> Int? {
        guard let total = knownTotal, total <= positionLimit else { return nil }
        return attempt { try store.reviewPosition(filter, of: row.cursor) }
    }

}
