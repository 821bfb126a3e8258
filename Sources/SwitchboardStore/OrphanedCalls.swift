import Foundation
import GRDB
import SwitchboardCore

extension AuditStore {
    /// Calls still open when an agent starts were left by a process that died (it holds the
    /// directory, so no other agent is taking them): they end as dropped. Returns how many.
    @discardableResult
    public func endOrphanedCalls(at now: UnixMillis, summary: String) throws -> Int {
        try write { db in
            try db.execute(sql: """
                UPDATE call SET ended_at = ?, outcome = 'dropped', first_call_resolved = 0,
                    summary = coalesce(summary || ' ', '') || ?
                WHERE ended_at IS NULL
                """, arguments: [now, summary])
            return db.changesCount
        }
    }
}
