import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The review queue as a table's paged source: keyset pages straight from the store,
/// undecided first, oldest first. Never loads the whole queue; only the operations
/// runner reads through it.
struct ReviewSource: PagedSource, Sendable {
    let store: AuditStore
    let filter: ReviewFilter
    /// Whether this read counts the list and places its rows (a scan of the index range:
    /// 70 ms at 1.6M bookings, so large queues are counted at most every few seconds).
    let counts: Bool

    func rows(after row: ReviewItem?, limit: Int) throws -> [ReviewItem] {
        try store.reviewQueue(filter, after: row?.cursor, limit: limit)
    }

    func rows(before row: ReviewItem?, limit: Int) throws -> [ReviewItem] {
        if let row { return try store.reviewQueue(filter, before: row.cursor, limit: limit) }
        return try store.reviewQueueTail(filter, limit: limit)
    }

    func count() throws -> Int? { counts ? try store.reviewCount(filter) : nil }

    func position(of row: ReviewItem) throws -> Int? {
        counts ? try store.reviewPosition(filter, of: row.cursor) : nil
    }
}
