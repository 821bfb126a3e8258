import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The review queue as a table's paged source: keyset pages straight from the store,
/// undecided first, oldest first. Never loads the whole queue.
final class ReviewSource: PagedSource {
    let store: AuditStore
    var filter: ReviewFilter
    /// Counting is cheap on the partial index; positions cost an index range count, so
    /// they are asked only while the list is short enough to answer within a frame.
    private let positionLimit = 50_000
    private var lastCount: Int?
    /// The last error, shown by the screen instead of crashing or freezing.
    private(set) var failure: String?

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

    func count() -> Int? {
        // A text filter makes counting a scan; the list shows no total then.
        guard filter.text == nil else { lastCount = nil; return nil }
        lastCount = attempt { try store.reviewCount(filter) }
        return lastCount
    }

    func position(of row: ReviewItem) -> Int? {
        guard let total = lastCount, total <= positionLimit else { return nil }
        return attempt { try store.reviewPosition(filter, of: row.cursor) }
    }

    private func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            let value = try body()
            failure = nil
            return value
        } catch {
            failure = "\(error)"
            return nil
        }
    }
}
