import SwitchboardCore
import SwitchboardStore
import TerminalUI

/// The audit chain as a table's paged source: newest first, keyset-paged on `seq`, so
/// a page costs the same at the top of ten million rows as at the bottom.
final class AuditSource: PagedSource, StoreBackedSource {
    let store: AuditStore
    var filter = AuditFilter()
    /// The last error, shown by the screen instead of crashing or freezing.
    var failure: String?

    init(store: AuditStore) { self.store = store }

    func id(of row: AuditEvent) -> Int64 { row.seq ?? 0 }

    /// Older rows (further down the list).
    func rows(after row: AuditEvent?, limit: Int) -> [AuditEvent] {
        attempt { try store.auditEvents(matching: filter, before: row?.seq, limit: limit) } ?? []
    }

    /// Newer rows (further up), or the oldest rows of all for the list's end.
    func rows(before row: AuditEvent?, limit: Int) -> [AuditEvent] {
        attempt { try store.auditEvents(matching: filter, after: row?.seq ?? 0, limit: limit).reversed() } ?? []
    }

}
